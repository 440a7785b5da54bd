"""Weight-free saliency from the image border (the background prior).

Two cues, both measured against the border, fused into one map in [0, 1]:
* minimum barrier distance (Zhang et al., "Minimum Barrier Salient Object Detection at
  80 FPS", ICCV 2015): for each pixel, the smallest possible (max - min) of a colour
  channel along any path to the border. Background connects to the border without
  crossing an edge; an object's interior cannot.
* border dissimilarity (the "backgroundness" cue of the same paper): Mahalanobis distance
  in Lab to the colour statistics of each border side, dropping the side that disagrees
  most, so that an object touching one side does not become background.
Both are in absolute units (Lab distances), so an image without anything salient stays low
instead of being stretched to [0, 1].
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.color import rgb2lab

BARRIER_SCALE = 40.0  # summed Lab barrier (L + a + b) at which the cue saturates
DISSIMILARITY_SCALE = 36.0  # summed Mahalanobis distance of 3 sides at which the cue saturates
COLOUR_NOISE = 5.0  # Lab units: floor of a side's colour spread (plain sides are not "exact")
BORDER_FRACTION = 0.04  # border band used for the side statistics
SMOOTHING_SIGMA = 1.0  # pixels at the working resolution
PASSES = 3


def saliency_map(rgb: np.ndarray) -> np.ndarray:
    """Saliency in [0, 1] of a float RGB image in [0, 1] (H x W x 3, at working size)."""
    smooth = ndimage.gaussian_filter(rgb, (SMOOTHING_SIGMA, SMOOTHING_SIGMA, 0))
    lab = rgb2lab(smooth).astype(np.float32)
    barrier = sum(minimum_barrier_distance(lab[..., c]) for c in range(3))
    band = max(2, round(BORDER_FRACTION * min(lab.shape[:2])))
    dissimilarity = border_dissimilarity(lab, band)
    return 0.5 * np.minimum(1.0, barrier / BARRIER_SCALE) + 0.5 * np.minimum(
        1.0, dissimilarity / DISSIMILARITY_SCALE
    )


def minimum_barrier_distance(channel: np.ndarray, passes: int = PASSES) -> np.ndarray:
    """Approximate minimum barrier distance of every pixel to the image border.

    Alternating raster scans (down, right, up, left), each vectorised along the scan line:
    a pixel takes its neighbour's path if that lowers max(path) - min(path).
    """
    dist = np.full(channel.shape, np.inf, np.float32)
    dist[0, :] = dist[-1, :] = dist[:, 0] = dist[:, -1] = 0.0
    high = channel.astype(np.float32).copy()
    low = high.copy()
    # Scans along columns operate on transposed views: same code, other axis.
    views = [(dist, high, low, channel), (dist.T, high.T, low.T, channel.T)]
    for _ in range(passes):
        for step in (1, -1):
            for d, hi, lo, value in views:
                _scan(d, hi, lo, value, step)
    return dist


def _scan(
    dist: np.ndarray, high: np.ndarray, low: np.ndarray, value: np.ndarray, step: int
) -> None:
    rows = range(1, dist.shape[0]) if step > 0 else range(dist.shape[0] - 2, -1, -1)
    for r in rows:
        q = r - step
        hi = np.maximum(high[q], value[r])
        lo = np.minimum(low[q], value[r])
        cost = hi - lo
        better = cost < dist[r]
        dist[r] = np.where(better, cost, dist[r])
        high[r] = np.where(better, hi, high[r])
        low[r] = np.where(better, lo, low[r])


def border_dissimilarity(lab: np.ndarray, band: int) -> np.ndarray:
    """Sum over the border sides of the Mahalanobis distance to each side's colours,
    minus the largest of them (robust to one side covered by the object)."""
    sides = (lab[:band], lab[-band:], lab[:, :band], lab[:, -band:])
    noise = np.eye(3, dtype=np.float64) * COLOUR_NOISE**2
    distances = []
    for side in sides:
        samples = side.reshape(-1, 3).astype(np.float64)
        inverse = np.linalg.inv(np.cov(samples.T) + noise)
        centred = lab - samples.mean(axis=0)
        squared = np.einsum("hwi,ij,hwj->hw", centred, inverse, centred)
        distances.append(np.sqrt(np.maximum(squared, 0.0)))
    stacked = np.stack(distances)
    return (stacked.sum(axis=0) - stacked.max(axis=0)).astype(np.float32)
