"""The front-view convention shared by the shape and texture stages.

A mesh made from an object crop lives in a right-handed frame: x to the right, y up, z
towards the viewer (glTF's convention). Seen from the front (looking down -z, orthographic),
the mesh lines up with the crop's pixels: the crop's frame is centred on the origin and its
longer side spans [-1, 1], so with W x H pixels and k = 2 / max(W, H):

    x = (col - W / 2) * k        y = (H / 2 - row) * k

where (col, row) are continuous pixel coordinates (pixel (i, j) covers [i, i+1] x [j, j+1],
its centre is at (i + 0.5, j + 0.5)). The mapping is stored in the GLB's scene extras under
`EXTRAS_KEY`, so that a texture backend projects the crop exactly as the shape saw it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

EXTRAS_KEY = "meshpipe_front_view"


@dataclass(frozen=True)
class FrontView:
    """Orthographic front projection between a crop of `width` x `height` pixels and a mesh."""

    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"front view needs a positive size, got {self.width}x{self.height}")

    @property
    def units_per_pixel(self) -> float:
        """Mesh units per crop pixel (the same along x and y)."""
        return 2.0 / max(self.width, self.height)

    def pixels_to_xy(self, col: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Continuous pixel coordinates -> mesh (x, y)."""
        k = self.units_per_pixel
        return (np.asarray(col) - self.width / 2) * k, (self.height / 2 - np.asarray(row)) * k

    def xy_to_pixels(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mesh (x, y) -> continuous pixel coordinates (col, row)."""
        k = self.units_per_pixel
        return np.asarray(x) / k + self.width / 2, self.height / 2 - np.asarray(y) / k

    def to_extras(self) -> dict[str, Any]:
        """JSON-ready record for the GLB's extras."""
        return {
            EXTRAS_KEY: {
                "image_width": self.width,
                "image_height": self.height,
                "units_per_pixel": self.units_per_pixel,
                "axes": "x right, y up, z towards the viewer; crop centred, longer side [-1, 1]",
            }
        }

    @classmethod
    def from_extras(cls, extras: Mapping[str, Any] | None) -> FrontView | None:
        """The view recorded by `to_extras`, or None when absent or malformed."""
        record = (extras or {}).get(EXTRAS_KEY)
        if not isinstance(record, Mapping):
            return None
        try:
            return cls(int(record["image_width"]), int(record["image_height"]))
        except (KeyError, TypeError, ValueError):
            return None
