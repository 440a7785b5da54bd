"""Post-processing of a model's raw matte: edges snapped to the image, stray parts dropped."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from services.matting.guided_filter import guided_filter
from services.matting.resample import shrink_factor

EDGE_RADIUS_FRACTION = 0.0125  # guided-filter radius, fraction of the longest side
EDGE_EPS = 1e-3
EDGE_FIT_SIDE = 512  # the guided filter's coefficients are fitted on a grid at most this size
CORE = 0.5  # alpha at or above which a pixel is object
SUPPORT = 0.05  # alpha above which a pixel belongs to some part of the matte


def refine_edges(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The matte re-fitted to the image's edges (colour guided filter), clipped to [0, 1]."""
    radius = max(2, round(EDGE_RADIUS_FRACTION * max(alpha.shape)))
    height, width = alpha.shape
    subsample = shrink_factor(height, width, EDGE_FIT_SIDE)
    return np.clip(guided_filter(image, alpha, radius, EDGE_EPS, subsample), 0.0, 1.0)


def drop_stray_parts(alpha: np.ndarray, min_fraction: float) -> np.ndarray:
    """Zero every part of the matte (connected region of alpha > SUPPORT) that holds no
    object component (alpha >= CORE) of at least `min_fraction` of the largest one."""
    cores, count = ndimage.label(alpha >= CORE)
    if count == 0:
        return alpha
    sizes = np.bincount(cores.ravel())[1:]
    big = np.flatnonzero(sizes >= min_fraction * sizes.max()) + 1
    parts, _ = ndimage.label(alpha > SUPPORT)
    kept_parts = np.unique(parts[np.isin(cores, big)])
    keep = np.isin(parts, kept_parts[kept_parts > 0])
    return np.where(keep, alpha, 0.0).astype(alpha.dtype)
