"""The pure-PyTorch rasteriser against an independent reference and on its edge cases."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from numpy.typing import ArrayLike

from services.texture.paint.rasterizer import interpolate, rasterize
from tests.unit.texture_paint import scenes
from tests.unit.texture_paint.reference import reference_rasterize

Scene = Callable[[], tuple[np.ndarray, np.ndarray]]
SIZE = (72, 96)  # H != W catches swapped axes


def run(
    pos: np.ndarray, tri: ArrayLike, size: tuple[int, int] = SIZE, **kw: object
) -> tuple[np.ndarray, np.ndarray]:
    findices, bary = rasterize(
        torch.from_numpy(np.asarray(pos, np.float32))[None],
        torch.from_numpy(np.asarray(tri, np.int32)),
        size,
        **kw,  # type: ignore[arg-type]
    )
    assert findices.dtype == torch.int32 and findices.shape == size
    assert bary.dtype == torch.float32 and bary.shape == (*size, 3)
    return findices.numpy(), bary.numpy()


def quad(x0: float, y0: float, x1: float, y1: float, z: float) -> np.ndarray:
    """Four NDC corners (w = 1) of an axis-aligned rectangle at NDC depth z."""
    return np.array([[x0, y0, z, 1], [x1, y0, z, 1], [x1, y1, z, 1], [x0, y1, z, 1]], np.float32)


QUAD_TRIS = np.array([[0, 1, 2], [0, 2, 3]], np.int32)


@pytest.mark.parametrize(
    "scene",
    [
        scenes.icosphere_ortho,
        scenes.rotated_cube,
        scenes.random_overlapping,
        scenes.perspective_scene,
        scenes.ground_through_camera,
    ],
    ids=lambda s: s.__name__,
)
def test_matches_independent_reference(scene: Scene) -> None:
    pos, tri = scene()
    findices, bary = run(pos, tri)
    ref_f, ref_b = reference_rasterize(pos, tri, *SIZE)
    covered = (findices > 0) | (ref_f > 0)
    assert covered.sum() > 0.15 * covered.size  # the scene really fills the view
    agree = findices == ref_f
    assert agree[covered].mean() >= 0.995
    both = agree & (findices > 0)
    np.testing.assert_allclose(bary[both], ref_b[both], atol=1e-4)
    np.testing.assert_allclose(bary[both].sum(axis=1), 1.0, atol=1e-5)
    assert (bary[findices == 0] == 0).all()


def test_several_faces_are_visible_through_depth_test() -> None:
    """Overlapping random triangles: the reference picks nearer faces than plain order would."""
    pos, tri = scenes.random_overlapping()
    findices, _ = run(pos, tri)
    visible = np.unique(findices[findices > 0])
    assert len(visible) > 40
    last_drawn = np.zeros(SIZE, np.int64)  # painter's order without depth test
    for f in range(len(tri)):
        one, _ = run(pos, tri[f : f + 1])
        last_drawn[one > 0] = f + 1
    assert (last_drawn != findices)[findices > 0].mean() > 0.2


def test_screen_mapping_pixel_centres_and_no_flip() -> None:
    # NDC (-1,-1) is the centre of pixel (0, 0); NDC (1, -1) of (0, W-1); (-1, 1) of (H-1, 0).
    pos = np.array([[-1, -1, 0, 1], [1, -1, 0, 1], [-1, 1, 0, 1]], np.float32)
    findices, bary = run(pos, [[0, 1, 2]], size=(4, 5))
    py, px = np.mgrid[0:4, 0:5]
    expected = px * 3 + py * 4 <= 12  # px/(W-1) + py/(H-1) <= 1, edges inclusive
    np.testing.assert_array_equal(findices == 1, expected)
    np.testing.assert_allclose(bary[0, 0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(bary[0, 4], [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(bary[3, 0], [0, 0, 1], atol=1e-6)


def test_perspective_corrected_barycentrics() -> None:
    # Corner 2 far away (w = 4): at the screen midpoint of edge 0-2 the perspective-correct
    # weight of the far corner is 1/(1+4) of the way, not one half.
    pos = np.array([[-1, -1, 0, 1], [1, -1, 0, 1], [-4, 4, 0, 4]], np.float32)
    findices, bary = run(pos, [[0, 1, 2]], size=(5, 5))
    assert findices[2, 0] == 1  # midpoint of the left edge on screen
    np.testing.assert_allclose(bary[2, 0], [0.8, 0.0, 0.2], atol=1e-6)


def test_nearest_wins_in_either_order() -> None:
    near, far = quad(-0.5, -0.5, 0.5, 0.5, -0.2), quad(-0.9, -0.9, 0.2, 0.2, 0.3)
    for order in ((near, far), (far, near)):
        pos = np.concatenate(order)
        tri = np.concatenate([QUAD_TRIS, QUAD_TRIS + 4])
        findices, _ = run(pos, tri, size=(32, 32))
        near_faces = {1, 2} if order[0] is near else {3, 4}
        assert set(np.unique(findices[8:24, 8:24])) <= near_faces  # inside the near quad
        assert set(np.unique(findices[2:6, 2:6])) <= ({1, 2, 3, 4} - near_faces)


def test_depth_ties_go_to_the_lowest_face_index() -> None:
    a = quad(-0.6, -0.6, 0.6, 0.6, 0.1)
    pos = np.concatenate([a, a, a])
    tri = np.concatenate([QUAD_TRIS + 8, QUAD_TRIS + 4, QUAD_TRIS])  # same surface thrice
    findices, _ = run(pos, tri, size=(24, 24))
    assert set(np.unique(findices)) == {0, 1, 2}  # faces 3..6 lose every tie


def test_back_facing_triangles_are_rasterised() -> None:
    pos, tri = scenes.rotated_cube()
    front, bary = run(pos, tri)
    flipped_tri = tri[:, [0, 2, 1]]
    back, bary_flipped = run(pos, flipped_tri)
    np.testing.assert_array_equal(front, back)
    covered = front > 0
    np.testing.assert_allclose(bary_flipped[covered][:, [0, 2, 1]], bary[covered], atol=1e-5)


def test_degenerate_triangles_cover_nothing() -> None:
    pos = np.array(
        [[-0.5, -0.5, 0, 1], [0.5, 0.5, 0, 1], [0.0, 0.0, 0, 1], [0.5, -0.5, 0, 1]], np.float32
    )
    tri = [[0, 1, 2], [0, 0, 1], [3, 3, 3], [0, 1, 3]]  # colinear, repeated corners, a real one
    findices, _ = run(pos, tri, size=(32, 32))
    assert set(np.unique(findices)) == {0, 4}


def test_off_screen_triangles() -> None:
    outside = np.array([[1.5, 1.5, 0, 1], [3, 1.5, 0, 1], [1.5, 3, 0, 1]], np.float32)
    findices, _ = run(outside, [[0, 1, 2]])
    assert (findices == 0).all()
    straddling = np.array([[-3, -3, 0, 1], [3.1, -3, 0, 1], [-3, 2.9, 0, 1]], np.float32)
    findices, _ = run(straddling, [[0, 1, 2]])
    ref, _ = reference_rasterize(straddling, np.array([[0, 1, 2]]), *SIZE)
    assert findices[0, 0] == 1 and findices[-1, -1] == 0
    np.testing.assert_array_equal(findices, ref)


def test_near_plane_crossing_is_clipped() -> None:
    pos, tri = scenes.ground_through_camera()
    inside = (pos[:, 2] + pos[:, 3] >= 0)[tri].sum(axis=1)
    crossing = (inside > 0) & (inside < 3)
    assert crossing.sum() >= 6 and (inside == 0).sum() >= 6 and (pos[:, 3] <= 0).any()
    findices, bary = run(pos, tri)
    drawn = set(np.unique(findices[findices > 0]) - 1)
    assert drawn & set(np.nonzero(crossing)[0])  # clipped faces are drawn ...
    assert not drawn & set(np.nonzero(inside == 0)[0])  # ... faces behind are not
    assert (bary[findices > 0] >= -1e-5).all()  # barycentrics of the original faces


def test_behind_the_eye_with_nonstandard_w_is_dropped() -> None:
    # z >= -w passes the near-plane test but w < 0: no projection puts that in view.
    pos = np.array([[-1, -1, 2, -1], [1, -1, 2, -1], [0, 1, 2, -1]], np.float32)
    findices, _ = run(pos, [[0, 1, 2]])
    assert (findices == 0).all()


def test_chunking_does_not_change_the_result() -> None:
    pos, tri = scenes.perspective_scene()
    big_f, big_b = run(pos, tri)
    small_f, small_b = run(pos, tri, budget=300)  # forces row bands and many chunks
    np.testing.assert_array_equal(big_f, small_f)
    np.testing.assert_array_equal(big_b, small_b)


def test_depth_prior_peels_the_front_layer() -> None:
    pos = np.concatenate([quad(-0.5, -0.5, 0.5, 0.5, -0.2), quad(-0.9, -0.9, 0.9, 0.9, 0.3)])
    tri = np.concatenate([QUAD_TRIS, QUAD_TRIS + 4])
    prior = torch.full((32, 32), -0.2)  # NDC depth of the front quad everywhere
    findices, _ = run(pos, tri, size=(32, 32), clamp_depth=prior, use_depth_prior=1)
    assert set(np.unique(findices[8:24, 8:24])) <= {3, 4}
    without, _ = run(pos, tri, size=(32, 32), clamp_depth=prior, use_depth_prior=0)
    assert set(np.unique(without[8:24, 8:24])) <= {1, 2}


def test_interpolate_matches_reference_weights() -> None:
    pos, tri = scenes.perspective_scene()
    attr = np.random.default_rng(0).normal(size=(len(pos), 5)).astype(np.float32)
    findices, bary = rasterize(torch.from_numpy(pos)[None], torch.from_numpy(tri), SIZE)
    # MeshRender passes findices as float (it concatenates them with the barycentrics).
    out = interpolate(torch.from_numpy(attr)[None], findices.float(), bary, torch.from_numpy(tri))
    assert out.shape == (1, *SIZE, 5)
    ref_f, ref_b = reference_rasterize(pos, tri, *SIZE)
    same = (ref_f == findices.numpy()) & (ref_f > 0)
    expected = (ref_b[..., None] * attr[tri[ref_f - 1]]).sum(axis=2)
    np.testing.assert_allclose(out[0].numpy()[same], expected[same], atol=5e-4)
    assert (out[0].numpy()[findices.numpy() == 0] == 0).all()


def test_empty_and_invalid_inputs() -> None:
    findices, bary = run(np.zeros((3, 4), np.float32), np.zeros((0, 3), np.int32))
    assert (findices == 0).all() and (bary == 0).all()
    nan = np.array([[np.nan, 0, 0, 1], [1, 0, 0, 1], [0, 1, 0, 1]], np.float32)
    findices, _ = run(nan, [[0, 1, 2]])
    assert (findices == 0).all()
    with pytest.raises(ValueError, match="tri is on meta"):
        rasterize(torch.zeros(1, 3, 4), torch.zeros(1, 3, dtype=torch.int32, device="meta"), (4, 4))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    pos, tri = scenes.perspective_scene()
    cpu_f, cpu_b = run(pos, tri, size=(256, 256))
    f, b = rasterize(torch.from_numpy(pos)[None].cuda(), torch.from_numpy(tri).cuda(), (256, 256))
    assert f.is_cuda and b.is_cuda
    assert (f.cpu().numpy() == cpu_f).mean() > 0.999
    same = f.cpu().numpy() == cpu_f
    np.testing.assert_allclose(b.cpu().numpy()[same], cpu_b[same], atol=1e-5)
