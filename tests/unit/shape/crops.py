"""Object crops with known mattes for the shape and texture tests, and a silhouette oracle.

Synthetic mattes (disc, L-shape, ring with a hole) carry a colour pattern with detail in x
and y; real crops come from scikit-image's bundled data: the horse silhouette (a real matte)
filled with the `chelsea` photo, and one coin of the `coins` photo with its segmentation
(a real photo with a real matte).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import trimesh
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage import data, filters, segmentation
from skimage.transform import resize

from meshpipe.frontview import FrontView


def disc(size: int = 120) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size] + 0.5
    return np.hypot(xx - size / 2, yy - size / 2) < 0.42 * size


def l_shape(size: int = 120) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[size // 8 : size - size // 8, size // 8 : size // 2] = True
    mask[size // 2 : size - size // 8, size // 8 : size - size // 8] = True
    return mask


def ring(size: int = 120) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size] + 0.5
    r = np.hypot(xx - size / 2, yy - size / 2)
    return (r < 0.45 * size) & (r > 0.2 * size)


def pattern(height: int, width: int) -> np.ndarray:
    """uint8 RGB with gradients and stripes, so that a misplaced texel shows."""
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    red = 40 + 200 * xx / width
    green = 40 + 200 * yy / height
    blue = 128 + 90 * np.sin(xx / 6.0) * np.cos(yy / 9.0)
    return np.clip(np.stack([red, green, blue], axis=-1), 0, 255).astype(np.uint8)


def rgba(rgb: np.ndarray, mask: np.ndarray) -> Image.Image:
    """RGBA crop: colours plus the matte (255 on the object)."""
    alpha = np.where(mask, 255, 0).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")


def synthetic(mask: np.ndarray) -> Image.Image:
    return rgba(pattern(*mask.shape), mask)


def horse() -> Image.Image:
    """scikit-image's horse silhouette (328 x 400) filled with the chelsea photo."""
    mask = ~np.asarray(data.horse(), dtype=bool)
    photo = resize(data.chelsea(), mask.shape, anti_aliasing=True, preserve_range=True)
    return rgba(photo.astype(np.uint8), mask)


def coin(margin: int = 6) -> Image.Image:
    """The largest coin of scikit-image's coins photo, segmented as in scikit-image's gallery
    (watershed of the Sobel gradient from dark and bright markers)."""
    grey = data.coins()
    markers = np.zeros(grey.shape, dtype=np.int32)
    markers[grey < 30] = 1
    markers[grey > 150] = 2
    coins = ndimage.binary_fill_holes(segmentation.watershed(filters.sobel(grey), markers) == 2)
    labels, _ = ndimage.label(coins)
    biggest = np.argmax(np.bincount(labels.ravel())[1:]) + 1
    rows, cols = np.nonzero(labels == biggest)
    r0, r1 = max(rows.min() - margin, 0), min(rows.max() + margin + 1, grey.shape[0])
    c0, c1 = max(cols.min() - margin, 0), min(cols.max() + margin + 1, grey.shape[1])
    crop = grey[r0:r1, c0:c1]
    return rgba(np.dstack([crop] * 3), labels[r0:r1, c0:c1] == biggest)


def matte(image: Image.Image) -> np.ndarray:
    """The object mask of a crop: alpha >= 0.5."""
    return np.asarray(image.getchannel("A")) >= 128


def front_silhouette(mesh: trimesh.Trimesh, view: FrontView, supersample: int = 4) -> np.ndarray:
    """Pixels of the crop covered by the mesh seen from the front (orthographic), drawn with
    PIL polygons at `supersample` x and reduced by majority."""
    width, height = view.width, view.height
    canvas = Image.new("L", (width * supersample, height * supersample), 0)
    draw = ImageDraw.Draw(canvas)
    cols, rows = view.xy_to_pixels(mesh.vertices[:, 0], mesh.vertices[:, 1])
    corners = np.stack([cols, rows], axis=1)[mesh.faces] * supersample
    for tri in corners:
        draw.polygon([tuple(p) for p in tri], fill=255)
    reduced = canvas.resize((width, height), Image.Resampling.BOX)
    return np.asarray(reduced) >= 128


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


# The crops every shape and texture quality test runs on, by name.
NAMED: dict[str, Callable[[], Image.Image]] = {
    "disc": lambda: synthetic(disc()),
    "l_shape": lambda: synthetic(l_shape()),
    "ring": lambda: synthetic(ring()),
    "horse": horse,
    "coin": coin,
}
