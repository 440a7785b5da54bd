"""Foreground colours under a soft matte by blur fusion (Forte and Pitié, "Approximate
Fast Foreground Colour Estimation", ICIP 2021).

Where alpha is fractional the observed colour mixes object and background; the object
colour is re-estimated from alpha-weighted local means of foreground and background,
first over a large window, then refined over a small one. Box filters only: O(pixels),
no JIT, no iterative solver. The large-window means are smooth, so they are computed on a
grid of at most FUSION_SIDE pixels and interpolated.
"""

from __future__ import annotations

import numpy as np

from services.matting.guided_filter import box_mean
from services.matting.resample import resize, shrink_factor

LARGE_RADIUS_FRACTION = 0.09  # of the longest side (the paper's 90 px on ~1000 px images)
SMALL_RADIUS_FRACTION = 0.006  # (the paper's 6 px)
FUSION_SIDE = 512
_TINY = 1e-5


def estimate_foreground(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Foreground colours (H x W x 3 in [0, 1]) of `image` under `alpha` (H x W in [0, 1])."""
    height, width = alpha.shape
    side = max(height, width)
    alpha = alpha.astype(np.float32)
    factor = shrink_factor(height, width, FUSION_SIDE)
    small_h, small_w = max(1, height // factor), max(1, width // factor)
    small_image = resize(image, small_h, small_w)
    large = max(2, round(LARGE_RADIUS_FRACTION * side) // factor)
    fg_mean, bg_mean = _local_means(
        small_image, small_image, resize(alpha, small_h, small_w), large
    )
    fg_mean, bg_mean = resize(fg_mean, height, width), resize(bg_mean, height, width)
    fg = _fuse(image, alpha, fg_mean, bg_mean)
    small = max(1, round(SMALL_RADIUS_FRACTION * side))
    return _fuse(image, alpha, *_local_means(fg, bg_mean, alpha, small))


def _local_means(
    fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """Alpha-weighted local mean of the foreground and (1 - alpha)-weighted one of the
    background, over (2r+1)^2 windows."""
    a = alpha[..., None]
    blurred_alpha = box_mean(a, radius)
    fg_mean = box_mean(fg * a, radius) / (blurred_alpha + _TINY)
    bg_mean = box_mean(bg * (1.0 - a), radius) / ((1.0 - blurred_alpha) + _TINY)
    return fg_mean, bg_mean


def _fuse(
    image: np.ndarray, alpha: np.ndarray, fg_mean: np.ndarray, bg_mean: np.ndarray
) -> np.ndarray:
    """The foreground that, composited with the local background mean, gives the image."""
    a = alpha[..., None]
    fg = fg_mean + a * (image - a * fg_mean - (1.0 - a) * bg_mean)
    return np.clip(fg, 0.0, 1.0).astype(np.float32)
