"""The numpy triangle rasteriser: exact coverage, barycentrics, depth test, speed."""

from __future__ import annotations

import time

import numpy as np

from meshpipe.raster import rasterize


def reference_coverage(triangles: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pixel centres inside any triangle, tested one triangle at a time over the image."""
    yy, xx = np.mgrid[:height, :width] + 0.5
    covered = np.zeros((height, width), bool)
    for a, b, c in triangles:
        area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        if abs(area) < 1e-12:
            continue
        w_a = ((c[0] - b[0]) * (yy - b[1]) - (c[1] - b[1]) * (xx - b[0])) / area
        w_b = ((a[0] - c[0]) * (yy - c[1]) - (a[1] - c[1]) * (xx - c[0])) / area
        covered |= (w_a >= 0) & (w_b >= 0) & (1 - w_a - w_b >= 0)
    return covered


def test_coverage_matches_a_brute_force_reference() -> None:
    rng = np.random.default_rng(1)
    triangles = rng.uniform([-20, -20], [140, 100], size=(60, 3, 2))  # some leave the image
    fragments = rasterize(triangles, 80, 120)
    assert np.array_equal(fragments.coverage(80, 120), reference_coverage(triangles, 80, 120))
    assert len(np.unique(fragments.pixel)) == len(fragments.pixel)


def test_barycentrics_reproduce_the_pixel_centres() -> None:
    rng = np.random.default_rng(2)
    triangles = rng.uniform(0, 64, size=(30, 3, 2))
    fragments = rasterize(triangles, 64, 64)
    points = np.einsum("nk,nkd->nd", fragments.bary, triangles[fragments.face])
    centres = np.stack([fragments.pixel % 64 + 0.5, fragments.pixel // 64 + 0.5], axis=1)
    assert np.abs(points - centres).max() < 1e-3
    assert (fragments.bary >= -1e-6).all()
    assert np.allclose(fragments.bary.sum(axis=1), 1.0, atol=1e-5)


def test_the_front_most_triangle_wins() -> None:
    square = np.array([[0, 0], [32, 0], [32, 32]], float)
    triangles = np.stack([square, square, square])
    depth = np.array([[0.1] * 3, [0.9] * 3, [0.5] * 3])
    fragments = rasterize(triangles, 32, 32, depth)
    assert len(fragments.pixel) > 0
    assert (fragments.face == 1).all()


def test_a_shared_edge_leaves_no_gap() -> None:
    quad = np.array([[[2, 2], [30, 3], [29, 29]], [[2, 2], [29, 29], [3, 30]]], float)
    covered = rasterize(quad, 32, 32).coverage(32, 32)
    rows, cols = np.mgrid[:32, :32] + 0.5
    diagonal = np.abs(rows - cols) < 0.3
    inner = (rows > 5) & (rows < 27) & (cols > 5) & (cols < 27)
    assert covered[diagonal & inner].all()


def test_degenerate_and_outside_triangles_cover_nothing() -> None:
    triangles = np.array(
        [
            [[1, 1], [10, 10], [20, 20]],  # collinear
            [[100, 100], [120, 100], [110, 120]],  # outside
            [[5.1, 5.1], [5.2, 5.1], [5.1, 5.2]],  # between pixel centres
        ],
        float,
    )
    assert len(rasterize(triangles, 32, 32).pixel) == 0


def test_tens_of_thousands_of_faces_in_about_a_second() -> None:
    grid = np.stack(np.meshgrid(*[np.linspace(3, 1020, 150)] * 2), axis=-1)
    upper = np.stack([grid[:-1, :-1], grid[:-1, 1:], grid[1:, 1:]], axis=2).reshape(-1, 3, 2)
    lower = np.stack([grid[:-1, :-1], grid[1:, 1:], grid[1:, :-1]], axis=2).reshape(-1, 3, 2)
    triangles = np.concatenate([upper, lower])
    start = time.perf_counter()
    fragments = rasterize(triangles, 1024, 1024)
    seconds = time.perf_counter() - start
    assert len(triangles) > 40_000
    assert len(fragments.pixel) == 1017 * 1017  # the grid's pixel centres, each exactly once
    assert seconds < 4.0  # ~0.6 s on an idle 2-core box; generous for a shared CI machine
