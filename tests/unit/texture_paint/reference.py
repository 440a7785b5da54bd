"""An independent reference rasteriser: homogeneous 2D rasterisation in float64 numpy.

It shares no code or method with the rasteriser under test: instead of projecting corners
to the screen, clipping and using screen-space edge functions, it solves, for every pixel,
the 3x3 system ``sum_i l_i (x_i, y_i, w_i) = (x_ndc, y_ndc, 1)`` (Olano & Greer). The
pixel is covered when every ``l_i >= 0`` and their sum is positive (the point is in front
of the eye); the normalised ``l`` are the perspective-correct barycentrics. A fragment
is kept when its NDC depth is >= -1 (the near plane); the nearest wins, the lowest face
index on exact ties. Slow (a loop over faces), meant for small meshes.
"""

from __future__ import annotations

import numpy as np


def pixel_ndc(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """NDC x, y [H*W] of pixel centres under ``x_screen = (x_ndc/2 + 0.5)(W-1) + 0.5``."""
    py, px = np.mgrid[0:height, 0:width]
    return (2.0 * px / (width - 1) - 1.0).ravel(), (2.0 * py / (height - 1) - 1.0).ravel()


def reference_rasterize(
    pos: np.ndarray, tri: np.ndarray, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """(face index + 1 [H, W] int, barycentrics [H, W, 3]) of clip-space ``pos`` [N, 4]."""
    pos = np.asarray(pos, dtype=np.float64)
    xn, yn = pixel_ndc(height, width)
    rhs = np.stack([xn, yn, np.ones_like(xn)])  # [3, HW]
    best = np.full(xn.shape, np.inf)
    faces = np.zeros(xn.shape, dtype=np.int64)
    bary = np.zeros((xn.shape[0], 3))
    for f, corners in enumerate(tri):
        v = pos[corners]  # [3, 4]
        m = np.stack([v[:, 0], v[:, 1], v[:, 3]])  # columns are corners
        scale = np.abs(m).max()
        if scale == 0 or abs(np.linalg.det(m / scale)) < 1e-12:
            continue  # the triangle is seen edge-on (or is degenerate)
        lam = np.linalg.solve(m, rhs)  # [3, HW]
        total = lam.sum(axis=0)
        covered = (lam >= 0).all(axis=0) & (total > 0)
        b = lam[:, covered] / total[covered]
        z_ndc = (b * v[:, 2:3]).sum(0) / (b * v[:, 3:4]).sum(0)
        idx = np.nonzero(covered)[0]
        nearer = (z_ndc >= -1.0) & (z_ndc < best[idx])
        idx = idx[nearer]
        best[idx] = z_ndc[nearer]
        faces[idx] = f + 1
        bary[idx] = b[:, nearer].T
    return faces.reshape(height, width), bary.reshape(height, width, 3)
