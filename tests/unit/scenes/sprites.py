"""Objects with exact soft alphas: real silhouettes and drawn shapes, filled with real data."""

from __future__ import annotations

import numpy as np
from skimage.draw import polygon
from skimage.transform import resize

from tests.unit.scenes.compose import Sprite
from tests.unit.scenes.textures import horse_silhouette

SHAPES = ("ellipse", "star", "rounded_square", "triangle")
_SUPERSAMPLE = 4


def fill(colour_or_image: tuple[float, float, float] | np.ndarray, h: int, w: int) -> np.ndarray:
    """A solid colour, or an image resized to h x w: float32 RGB."""
    if isinstance(colour_or_image, tuple):
        return np.broadcast_to(np.asarray(colour_or_image, np.float32), (h, w, 3)).copy()
    return resize(colour_or_image, (h, w, 3), anti_aliasing=True).astype(np.float32)


def horse(colours: tuple[float, float, float] | np.ndarray, height: int) -> Sprite:
    """scikit-image's horse silhouette scaled to `height` (anti-aliased edge)."""
    mask = horse_silhouette().astype(np.float32)
    width = round(height * mask.shape[1] / mask.shape[0])
    alpha = np.clip(resize(mask, (height, width), order=1, anti_aliasing=True), 0, 1)
    return Sprite(fill(colours, height, width), alpha.astype(np.float32))


def shape(kind: str, size: int, colours: tuple[float, float, float] | np.ndarray) -> Sprite:
    """A drawn shape in a size x size square, rendered with 4x supersampling."""
    big = size * _SUPERSAMPLE
    mask = _shape_mask(kind, big)
    alpha = mask.reshape(size, _SUPERSAMPLE, size, _SUPERSAMPLE).mean(axis=(1, 3))
    return Sprite(fill(colours, size, size), alpha.astype(np.float32))


def _shape_mask(kind: str, n: int) -> np.ndarray:
    yy, xx = np.mgrid[0:n, 0:n] + 0.5
    c = n / 2.0
    if kind == "ellipse":
        return ((xx - c) / (0.5 * n)) ** 2 + ((yy - c) / (0.36 * n)) ** 2 <= 1.0
    if kind == "rounded_square":
        r = 0.18 * n
        dx = np.maximum(np.abs(xx - c) - (c - r), 0)
        dy = np.maximum(np.abs(yy - c) - (c - r), 0)
        return dx**2 + dy**2 <= r**2
    if kind == "star":
        angles = np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, 0.5 * n, 0.24 * n)
        return _polygon(n, c - radii * np.sin(angles), c + radii * np.cos(angles))
    if kind == "triangle":
        return _polygon(n, np.array([0.02, 0.98, 0.98]) * n, np.array([0.5, 0.02, 0.98]) * n)
    raise ValueError(f"unknown shape {kind!r}")


def _polygon(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    mask = np.zeros((n, n), bool)
    rr, cc = polygon(rows, cols, (n, n))
    mask[rr, cc] = True
    return mask
