"""Resizing float images (H x W or H x W x C) channel by channel through Pillow's float mode."""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """`values` resized to height x width: box filter when shrinking, bilinear when growing."""
    if values.shape[:2] == (height, width):
        return values
    shrinking = height * width < values.shape[0] * values.shape[1]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    planes = values[..., None] if values.ndim == 2 else values
    out = np.empty((height, width, planes.shape[2]), np.float32)
    for c in range(planes.shape[2]):
        plane = Image.fromarray(np.ascontiguousarray(planes[..., c], dtype=np.float32))
        out[..., c] = np.asarray(plane.resize((width, height), method))
    return out[..., 0] if values.ndim == 2 else out


def shrink_factor(height: int, width: int, max_side: int) -> int:
    """The integer factor that brings the longest side to at most max_side (1 = none)."""
    return max(1, -(-max(height, width) // max_side))
