"""Cropping detected objects out of the photo (with padding, clipped to the image)."""

from __future__ import annotations

import math

from PIL import Image

from meshpipe.images import encode_png
from orchestrator.domain import Box


def crop_box(box: Box, padding: float, width: int, height: int) -> Box:
    """`box` grown by `padding` x its size on every side, snapped outwards to whole pixels
    and clipped to the image. Never empty: at least one pixel inside the image."""
    pad_x, pad_y = box.width * padding, box.height * padding
    x1 = min(max(0, math.floor(box.x1 - pad_x)), width - 1)
    y1 = min(max(0, math.floor(box.y1 - pad_y)), height - 1)
    x2 = max(min(width, math.ceil(box.x2 + pad_x)), x1 + 1)
    y2 = max(min(height, math.ceil(box.y2 + pad_y)), y1 + 1)
    return Box(x1=x1, y1=y1, x2=x2, y2=y2)


def crop_png(image: Image.Image, box: Box) -> bytes:
    """The pixels of `box` (whole pixels) as PNG bytes."""
    region = (int(box.x1), int(box.y1), int(box.x2), int(box.y2))
    return encode_png(image.crop(region))
