"""Real image data from scikit-image (shipped with the package: no download) as float RGB."""

from __future__ import annotations

import numpy as np
from skimage import data
from skimage.transform import resize

PHOTOS = ("coffee", "chelsea", "astronaut", "rocket")
TEXTURES = ("brick", "grass", "gravel")


def photo(name: str) -> np.ndarray:
    """A colour photo (coffee, chelsea, astronaut, rocket) as float32 RGB in [0, 1]."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}")
    return np.asarray(getattr(data, name)(), dtype=np.float32) / 255.0


def photo_uint8(name: str) -> np.ndarray:
    """A colour photo as uint8 RGB, exactly as scikit-image ships it."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}")
    return np.asarray(getattr(data, name)(), dtype=np.uint8)


def tinted_texture(
    name: str, shape: tuple[int, int], tint: tuple[float, float, float]
) -> np.ndarray:
    """A grey texture (brick, grass, gravel) resized to `shape`, contrast-stretched into
    [0.35, 1] and multiplied by an RGB tint: float32 RGB in [0, 1]."""
    if name not in TEXTURES:
        raise ValueError(f"unknown texture {name!r}")
    grey = np.asarray(getattr(data, name)(), dtype=np.float32) / 255.0
    grey = resize(grey, shape, anti_aliasing=True)
    grey = (grey - grey.min()) / max(float(grey.max() - grey.min()), 1e-6)
    rgb = (0.35 + 0.65 * grey)[..., None] * np.asarray(tint, dtype=np.float32)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def horse_silhouette() -> np.ndarray:
    """scikit-image's horse silhouette (a real binary mask), True on the horse."""
    return ~np.asarray(data.horse(), dtype=bool)
