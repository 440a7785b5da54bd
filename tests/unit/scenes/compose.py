"""Compositing objects (colour + soft alpha) onto backgrounds, keeping the ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Box = tuple[float, float, float, float]  # x1, y1, x2 (exclusive), y2 (exclusive), pixels


@dataclass(frozen=True)
class Sprite:
    """An object to paste: float RGB colours and a soft alpha of the same size."""

    rgb: np.ndarray
    alpha: np.ndarray


@dataclass
class Scene:
    """A composited image with the truth about every object in it."""

    image: np.ndarray  # uint8 RGB, what a stage receives
    alpha: np.ndarray  # float32 union alpha of all objects
    foreground: np.ndarray  # float32 RGB true object colours (0 where no object)
    boxes: list[Box] = field(default_factory=list)  # one per object (alpha >= 0.5 extent)

    @property
    def mask(self) -> np.ndarray:
        """Known object mask: alpha >= 0.5."""
        return self.alpha >= 0.5


def composite(background: np.ndarray, sprites: list[tuple[Sprite, int, int]]) -> Scene:
    """Paste each sprite with its top-left corner at (row, col); boxes come from the pasted
    alphas (alpha >= 0.5). Sprites must lie inside the background."""
    height, width = background.shape[:2]
    image = background.astype(np.float32).copy()
    alpha_all = np.zeros((height, width), np.float32)
    foreground = np.zeros((height, width, 3), np.float32)
    boxes: list[Box] = []
    for sprite, row, col in sprites:
        h, w = sprite.alpha.shape
        if row < 0 or col < 0 or row + h > height or col + w > width:
            raise ValueError("sprite does not fit in the background")
        window = (slice(row, row + h), slice(col, col + w))
        a = sprite.alpha[..., None]
        image[window] = sprite.rgb * a + image[window] * (1.0 - a)
        foreground[window] = np.where(a > 0, sprite.rgb, foreground[window])
        alpha_all[window] = np.maximum(alpha_all[window], sprite.alpha)
        rows, cols = np.nonzero(sprite.alpha >= 0.5)
        boxes.append(
            (
                float(col + cols.min()),
                float(row + rows.min()),
                float(col + cols.max() + 1),
                float(row + rows.max() + 1),
            )
        )
    u8 = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Scene(u8, alpha_all, foreground, boxes)


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0
