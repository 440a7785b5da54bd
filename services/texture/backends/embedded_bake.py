"""Embedded texture backend: colours from the crop by front orthographic projection.

Every surface point takes the crop's colour where it projects (x, y) -> (column, row), so
back faces repeat the front (mirror-symmetric, as the embedded shape is). Projections that
land outside the object's matte take the colour of the nearest object pixel. Texels that no
triangle covers take the colour of the nearest covered texel, which bleeds every chart
across its UV seams.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from meshpipe.errors import InvalidInput
from meshpipe.frontview import FrontView

_ASPECT_TOLERANCE = 0.02  # relative; a crop resized by the orchestrator keeps its aspect


@dataclass(frozen=True)
class CropProjection:
    """Affine orthographic map from mesh (x, y) to continuous crop pixels (column, row)."""

    scale: tuple[float, float]
    offset: tuple[float, float]

    def __call__(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(columns, rows) of mesh points [N, >=2]."""
        cols = points[:, 0] * self.scale[0] + self.offset[0]
        rows = points[:, 1] * self.scale[1] + self.offset[1]
        return cols, rows

    @classmethod
    def from_view(cls, view: FrontView) -> CropProjection:
        """The shape stage's convention (see meshpipe.frontview)."""
        k = view.units_per_pixel
        return cls((1.0 / k, -1.0 / k), (view.width / 2, view.height / 2))

    @classmethod
    def fit(
        cls, mesh_bounds: np.ndarray, matte_box: tuple[float, float, float, float]
    ) -> CropProjection:
        """Map the mesh's x/y extent onto the matte's box (meshes without a front-view record)."""
        (x0, y0), (x1, y1) = mesh_bounds[0, :2], mesh_bounds[1, :2]
        col0, row0, col1, row1 = matte_box
        sx = (col1 - col0) / max(x1 - x0, 1e-9)
        sy = (row1 - row0) / max(y1 - y0, 1e-9)
        return cls((sx, -sy), (col0 - x0 * sx, row0 + y1 * sy))


def projection_for(
    view: FrontView | None, mesh_bounds: np.ndarray, image_size: tuple[int, int], mask: np.ndarray
) -> CropProjection:
    """The crop projection of a mesh, from its front-view record or else by fitting boxes."""
    width, height = image_size
    if view is None:
        rows, cols = np.nonzero(mask)
        box = (float(cols.min()), float(rows.min()), cols.max() + 1.0, rows.max() + 1.0)
        return CropProjection.fit(mesh_bounds, box)
    recorded, given = view.width / view.height, width / height
    if abs(recorded - given) > _ASPECT_TOLERANCE * max(recorded, given):
        raise InvalidInput(
            f"the image ({width}x{height}) is not the crop the mesh was made from "
            f"({view.width}x{view.height})"
        )
    # The convention is scale-free: a resized crop maps onto the mesh the same way.
    return CropProjection.from_view(FrontView(width, height))


def object_mask(image: Image.Image) -> np.ndarray:
    """Object pixels (alpha >= 0.5) of an RGBA crop; InvalidInput when there are none."""
    if image.mode != "RGBA":
        raise InvalidInput(f"texture image must be RGBA (object with its matte), got {image.mode}")
    mask = np.asarray(image.getchannel("A")) >= 128
    if not mask.any():
        raise InvalidInput("texture image has an empty alpha channel: no object colours")
    return mask


def object_colours(image: Image.Image, mask: np.ndarray) -> np.ndarray:
    """float32 [H, W, 3] colours where background pixels repeat the nearest object pixel."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    if mask.all():
        return rgb
    _, (rows, cols) = ndimage.distance_transform_edt(~mask, return_indices=True)
    return rgb[rows, cols]


def sample(colours: np.ndarray, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Bilinear colours [N, 3] at continuous pixel coordinates (clamped at the border)."""
    coords = [np.asarray(rows) - 0.5, np.asarray(cols) - 0.5]
    channels = [
        ndimage.map_coordinates(colours[:, :, c], coords, order=1, mode="nearest")
        for c in range(colours.shape[2])
    ]
    return np.stack(channels, axis=1)


def bleed(texture: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Texture whose uncovered texels repeat the nearest covered texel (seam dilation)."""
    if covered.all() or not covered.any():
        return texture
    _, (rows, cols) = ndimage.distance_transform_edt(~covered, return_indices=True)
    return texture[rows, cols]
