"""Colour guided filter (He, Sun and Tang, "Guided Image Filtering", TPAMI 2013), with the
subsampled variant of He and Sun, "Fast Guided Filter" (2015).

Used to transfer a low-resolution matte's edges onto the full-resolution image: the output
is locally a linear function of the guide's colours, so it follows the guide's edges.
Box means make it O(pixels) whatever the radius; with subsampling the linear coefficients
are fitted on a smaller grid and only applied at full resolution.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from services.matting.resample import resize


def box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1) x (2r+1) window per pixel (per channel for H x W x C)."""
    size = (2 * radius + 1, 2 * radius + 1) + (1,) * (values.ndim - 2)
    return np.asarray(ndimage.uniform_filter(values, size=size, mode="reflect"))


def guided_filter(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float, subsample: int = 1
) -> np.ndarray:
    """Filter `src` (H x W) guided by the colour image `guide` (H x W x 3, float in [0, 1]).

    `eps` is the regularisation: edges in the guide whose local variance is well above it
    are kept in the output, flatter areas are smoothed. `subsample` > 1 fits the
    coefficients on a grid that many times smaller (radius scaled alike).
    """
    guide = guide.astype(np.float32)
    height, width = src.shape
    small_h, small_w = max(1, height // subsample), max(1, width // subsample)
    small_guide = resize(guide, small_h, small_w)
    small_src = resize(src.astype(np.float32), small_h, small_w)
    a, b = _coefficients(small_guide, small_src, max(1, radius // subsample), eps)
    a = resize(box_mean(a, max(1, radius // subsample)), height, width)
    b = resize(box_mean(b, max(1, radius // subsample)), height, width)
    return np.einsum("hwc,hwc->hw", a, guide) + b


def _coefficients(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-window linear model src ~ a . guide + b (least squares, ridge eps)."""
    mean_i = box_mean(guide, radius)
    mean_p = box_mean(src, radius)
    cov_ip = box_mean(guide * src[..., None], radius) - mean_i * mean_p[..., None]
    var: dict[tuple[int, int], np.ndarray] = {}
    for i in range(3):
        for j in range(i, 3):
            v = box_mean(guide[..., i] * guide[..., j], radius) - mean_i[..., i] * mean_i[..., j]
            var[i, j] = v + eps if i == j else v
    a = _solve_symmetric3(var, cov_ip)
    return a, mean_p - np.einsum("hwc,hwc->hw", a, mean_i)


def _solve_symmetric3(m: dict[tuple[int, int], np.ndarray], rhs: np.ndarray) -> np.ndarray:
    """Per-pixel solution of a symmetric 3x3 system (upper entries m[i, j], i <= j) by
    cofactors: one vectorised pass instead of a LAPACK call per pixel."""
    c00 = m[1, 1] * m[2, 2] - m[1, 2] ** 2
    c01 = m[0, 2] * m[1, 2] - m[0, 1] * m[2, 2]
    c02 = m[0, 1] * m[1, 2] - m[0, 2] * m[1, 1]
    c11 = m[0, 0] * m[2, 2] - m[0, 2] ** 2
    c12 = m[0, 1] * m[0, 2] - m[0, 0] * m[1, 2]
    c22 = m[0, 0] * m[1, 1] - m[0, 1] ** 2
    det = m[0, 0] * c00 + m[0, 1] * c01 + m[0, 2] * c02
    r0, r1, r2 = rhs[..., 0], rhs[..., 1], rhs[..., 2]
    return (
        np.stack(
            [
                c00 * r0 + c01 * r1 + c02 * r2,
                c01 * r0 + c11 * r1 + c12 * r2,
                c02 * r0 + c12 * r1 + c22 * r2,
            ],
            axis=-1,
        )
        / det[..., None]
    )
