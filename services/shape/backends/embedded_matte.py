"""Embedded shape backend, step 1: the matte as a signed distance field.

The alpha channel is thresholded at 0.5 (the object is where alpha >= 0.5), matting specks
are dropped, and the signed distance to the outline is computed on a padded copy so that
it stays negative outside the crop. Distances are in crop pixels, positive inside; the
zero level runs half-way between object and background pixel centres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from meshpipe.errors import InvalidInput
from meshpipe.frontview import FrontView

_MARGIN = 3  # background pixels padded around the working matte
_SMOOTH_PIXELS = 1.0  # gaussian sigma applied to the signed distance, working pixels


@dataclass(frozen=True)
class Silhouette:
    """Signed distance to an object's outline, sampled at the working raster's pixel centres."""

    sdf: np.ndarray  # float32 [rows, cols], working pixels, padded by _MARGIN
    scale: tuple[float, float]  # working pixels per crop pixel along (cols, rows)
    view: FrontView
    bbox: tuple[float, float, float, float]  # object extent in crop pixels: col0, row0, col1, row1

    @property
    def inscribed_radius(self) -> float:
        """Largest distance from the outline inside the object, crop pixels."""
        return float(self.sdf.max()) / self._mean_scale

    @property
    def _mean_scale(self) -> float:
        return 0.5 * (self.scale[0] + self.scale[1])

    def sample(self, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Signed distance (crop pixels) at continuous crop coordinates, bilinear."""
        wc = np.asarray(cols) * self.scale[0] - 0.5 + _MARGIN
        wr = np.asarray(rows) * self.scale[1] - 0.5 + _MARGIN
        values = ndimage.map_coordinates(self.sdf, [wr, wc], order=1, mode="nearest")
        return np.asarray(values, dtype=np.float32) / self._mean_scale


def silhouette_from_rgba(
    image: Image.Image, work_side: int, min_component_fraction: float = 0.0
) -> Silhouette:
    """The object's signed distance field; the matte is resampled so its longer side <= work_side."""
    if image.mode != "RGBA":
        raise InvalidInput(f"shape input must be RGBA (object with its matte), got {image.mode}")
    width, height = image.size
    alpha = image.getchannel("A")
    side = max(width, height)
    if side > work_side:
        factor = work_side / side
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        alpha = alpha.resize(size, Image.Resampling.BOX)
    mask = np.asarray(alpha, dtype=np.uint8) >= 128
    mask = drop_specks(mask, min_component_fraction)
    if not mask.any():
        raise InvalidInput("shape input has an empty alpha channel: no object to lift")
    scale = (mask.shape[1] / width, mask.shape[0] / height)
    padded = np.pad(mask, _MARGIN)
    sdf = signed_distance(padded)
    rows, cols = np.nonzero(mask)
    bbox = (
        cols.min() / scale[0],
        rows.min() / scale[1],
        (cols.max() + 1) / scale[0],
        (rows.max() + 1) / scale[1],
    )
    return Silhouette(sdf, scale, FrontView(width, height), bbox)


def drop_specks(mask: np.ndarray, min_fraction: float) -> np.ndarray:
    """The mask without connected islands smaller than `min_fraction` of its area."""
    if min_fraction <= 0 or not mask.any():
        return mask
    labels, count = ndimage.label(mask)
    if count <= 1:
        return mask
    sizes = np.bincount(labels.ravel())[1:]
    keep = sizes >= max(min_fraction * sizes.sum(), 1)
    keep[np.argmax(sizes)] = True
    return np.asarray(np.concatenate([[False], keep])[labels])


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """Distance to the outline between pixel centres, > 0 inside, < 0 outside (pixels)."""
    inside = ndimage.distance_transform_edt(mask)
    outside = ndimage.distance_transform_edt(~mask)
    sdf = np.where(mask, inside - 0.5, 0.5 - outside)
    # The outline of a binary matte is a staircase; a light blur turns it into the smooth
    # curve it samples (the zero level moves by a small fraction of a pixel).
    return np.asarray(ndimage.gaussian_filter(sdf, _SMOOTH_PIXELS), dtype=np.float32)
