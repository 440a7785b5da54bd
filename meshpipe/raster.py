"""A vectorised numpy triangle rasteriser (UV space for baking, screen space for previews).

Triangles are given in continuous pixel coordinates (x = column, y = row; pixel (i, j)
covers [i, i+1] x [j, j+1] and is sampled at its centre). Each triangle tests the pixel
centres of its bounding box; triangles are grouped by bounding-box size so that one numpy
pass handles thousands of them at once with little wasted work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

_BUDGET = 1 << 20  # candidate pixels tested per numpy pass
_EPS = 1e-7  # barycentric slack, so that pixel centres on a shared edge are not lost


@dataclass(frozen=True)
class Fragments:
    """The pixels covered by triangles: one entry per covered pixel."""

    pixel: np.ndarray  # int64 [N], row * width + column
    face: np.ndarray  # int64 [N], index of the covering triangle
    bary: np.ndarray  # float32 [N, 3], barycentric weights of the triangle's corners

    def coverage(self, height: int, width: int) -> np.ndarray:
        """Boolean [height, width] image of the covered pixels."""
        mask = np.zeros(height * width, dtype=bool)
        mask[self.pixel] = True
        return mask.reshape(height, width)


def rasterize(
    triangles: np.ndarray, height: int, width: int, depth: np.ndarray | None = None
) -> Fragments:
    """Cover an image of `height` x `width` pixels with `triangles` [F, 3, 2] (x, y).

    Where triangles overlap, the one with the largest interpolated `depth` [F, 3] wins (the
    front-most, for z towards the viewer); without depth an arbitrary one does.
    """
    tri = np.asarray(triangles, dtype=np.float64)
    lo = np.maximum(np.ceil(tri.min(axis=1) - 0.5), 0).astype(np.int64)
    hi = np.minimum(np.floor(tri.max(axis=1) - 0.5), [width - 1, height - 1]).astype(np.int64)
    span = hi - lo + 1
    area = _cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    usable = np.nonzero((span > 0).all(axis=1) & (np.abs(area) > 1e-12))[0]
    pixels, faces, barys = [], [], []
    for batch, slots in _batches(usable, span[usable, 0] * span[usable, 1]):
        p, f, b = _cover(tri[batch], area[batch], lo[batch], span[batch], slots, width)
        pixels.append(p)
        faces.append(batch[f])
        barys.append(b)
    if not pixels:
        return Fragments(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3), np.float32))
    pixel, face, bary = np.concatenate(pixels), np.concatenate(faces), np.concatenate(barys)
    return _resolve(pixel, face, bary, depth)


def _batches(faces: np.ndarray, counts: np.ndarray) -> Iterator[tuple[np.ndarray, int]]:
    """Faces grouped by bounding-box size class, as (faces, candidate slots per face)."""
    size_class = np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64)
    for cls in np.unique(size_class):
        group = faces[size_class == cls]
        slots = int(counts[size_class == cls].max())
        step = max(1, _BUDGET // slots)
        for start in range(0, len(group), step):
            yield group[start : start + step], slots


def _cover(
    tri: np.ndarray,
    area: np.ndarray,
    lo: np.ndarray,
    span: np.ndarray,
    slots: int,
    width: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Covered (pixel, local face index, barycentrics) for one batch of triangles."""
    k = np.arange(slots)[None, :]
    cols = lo[:, :1] + k % span[:, :1]
    rows = lo[:, 1:] + k // span[:, :1]
    valid = k < span[:, :1] * span[:, 1:]
    px, py = cols + 0.5, rows + 0.5
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    w_a = _edge(b, c, px, py) / area[:, None]
    w_b = _edge(c, a, px, py) / area[:, None]
    w_c = 1.0 - w_a - w_b
    inside = valid & (w_a >= -_EPS) & (w_b >= -_EPS) & (w_c >= -_EPS)
    face, slot = np.nonzero(inside)
    bary = np.stack([w_a[face, slot], w_b[face, slot], w_c[face, slot]], axis=1)
    return rows[face, slot] * width + cols[face, slot], face, bary.astype(np.float32)


def _edge(p: np.ndarray, q: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Twice the signed area of (p, q, pixel centre), per triangle and candidate."""
    return (q[:, :1] - p[:, :1]) * (py - p[:, 1:]) - (q[:, 1:] - p[:, 1:]) * (px - p[:, :1])


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]


def _resolve(
    pixel: np.ndarray, face: np.ndarray, bary: np.ndarray, depth: np.ndarray | None
) -> Fragments:
    """One fragment per pixel: the front-most when depths are given."""
    if depth is None:
        _, first = np.unique(pixel, return_index=True)
    else:
        z = (bary * np.asarray(depth, dtype=np.float64)[face]).sum(axis=1)
        order = np.lexsort((-z, pixel))
        _, start = np.unique(pixel[order], return_index=True)
        first = order[start]
    return Fragments(pixel[first], face[first], bary[first])
