"""Embedded shape backend, step 2: inflate the silhouette into a closed surface.

Inflation by a Poisson height field: u solves Laplace(u) = -1 inside the silhouette with
u = 0 outside, and the half-thickness above the image plane is h = depth * sqrt(2u). That is
sqrt-shaped at the rim (the surface meets the image plane at a right angle, so the front
view's outline is the matte's), follows each part's own width (a strip of width w becomes a
round bar `depth` x w deep, a disc an ellipsoid 0.71 x `depth` x its diameter deep) and has
no crease along the medial axis. The body is mirror-symmetric in z.

Marching cubes runs on an isotropic grid whose longer side of the object's box has
`resolution` cells, over the field min(s * sd, h^2 - z^2) (positive inside): h^2 is smooth
and about linear across the rim where h itself is not, so the walls come out without
terraces, and the signed distance sd to the matte's outline, scaled to the same slope s,
puts the rim exactly on the outline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy import ndimage
from skimage import measure

from meshpipe.errors import InvalidInput
from services.shape.backends.embedded_matte import Silhouette

_PAD = 2  # empty cells around the object, so the surface never touches the grid's border
_LEVEL_MARGIN = 1e-4  # relative distance of every field sample from the level


@dataclass(frozen=True)
class Plane:
    """Cell centres of the grid in the image plane, crop pixels."""

    cols: np.ndarray
    rows: np.ndarray
    spacing: float


def make_plane(silhouette: Silhouette, resolution: int) -> Plane:
    """Cells over the object's box (plus padding), `resolution` of them on its longer side."""
    col0, row0, col1, row1 = silhouette.bbox
    spacing = max(col1 - col0, row1 - row0) / resolution
    return Plane(_axis(col0, col1, spacing), _axis(row0, row1, spacing), spacing)


def _axis(lo: float, hi: float, spacing: float) -> np.ndarray:
    """Centred cell positions covering [lo, hi] with _PAD empty cells on each side."""
    count = int(np.ceil((hi - lo) / spacing)) + 2 * _PAD + 1
    return 0.5 * (lo + hi) + (np.arange(count) - (count - 1) / 2) * spacing


def poisson(inside: np.ndarray, spacing: float) -> np.ndarray:
    """u with Laplace(u) = -1 on `inside` cells and u = 0 on the others (units: spacing^2)."""
    if inside[0, :].any() or inside[-1, :].any() or inside[:, 0].any() or inside[:, -1].any():
        raise ValueError("inside cells must not touch the grid's border")
    index = np.full(inside.shape, -1, dtype=np.int64)
    count = int(inside.sum())
    index[inside] = np.arange(count)
    rows, cols = [np.arange(count)], [np.arange(count)]
    for a, b in ((index[:, :-1], index[:, 1:]), (index[:-1, :], index[1:, :])):
        linked = (a >= 0) & (b >= 0)
        rows += [a[linked], b[linked]]
        cols += [b[linked], a[linked]]
    values = np.concatenate([np.full(count, 4.0), -np.ones(sum(len(r) for r in rows[1:]))])
    matrix = sp.csc_matrix((values, (np.concatenate(rows), np.concatenate(cols))), (count,) * 2)
    solution = np.atleast_1d(spla.spsolve(matrix, np.full(count, spacing * spacing)))
    u = np.zeros(inside.shape, dtype=np.float64)
    u[inside] = np.maximum(solution, 0.0)
    return u


def outline_slope(height_sq: np.ndarray, spacing: float) -> np.ndarray:
    """Per-cell slope of h^2 near the rim (spread one cell outwards), never zero."""
    gy, gx = np.gradient(height_sq, spacing)
    slope = ndimage.maximum_filter(np.hypot(gx, gy), size=3)
    return np.maximum(slope, 1e-3 * max(float(slope.max()), 1e-12))


def push_off_level(field: np.ndarray) -> None:
    """Move every sample within a tiny margin of the zero level out of it, in place.

    A sample at (or next to) zero makes marching cubes put up to six vertices on the same
    spot; any later merge by position would pinch the surface there.
    """
    margin = _LEVEL_MARGIN * max(float(np.abs(field).max()), 1e-12)
    near = np.abs(field) < margin
    field[near] = np.where(field[near] < 0, -margin, margin)


def inflate(silhouette: Silhouette, resolution: int, depth: float) -> tuple[np.ndarray, np.ndarray]:
    """Closed surface (vertices in crop pixels as (col, row, depth), triangles) of the object."""
    plane = make_plane(silhouette, resolution)
    cols, rows = np.meshgrid(plane.cols, plane.rows)
    sd = silhouette.sample(cols, rows)
    if not (sd > 0).any():
        raise InvalidInput(f"the object is too thin to lift at octree_resolution {resolution}")
    height_sq = (2.0 * depth * depth * poisson(sd > 0, plane.spacing)).astype(np.float32)
    rim = (outline_slope(height_sq, plane.spacing) * sd).astype(np.float32)
    top = float(np.sqrt(height_sq.max()))
    depths = _axis(-top, top, plane.spacing)
    depths_sq = (depths**2).astype(np.float32)
    field = np.minimum(rim[:, :, None], height_sq[:, :, None] - depths_sq[None, None, :])
    push_off_level(field)
    verts, faces, _, _ = measure.marching_cubes(
        field, level=0.0, spacing=(plane.spacing,) * 3, allow_degenerate=False
    )
    origin = np.array([plane.rows[0], plane.cols[0], depths[0]])
    verts = verts + origin  # (row, col, depth), crop pixels
    return verts[:, [1, 0, 2]], faces
