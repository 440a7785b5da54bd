"""Test photos for the end-to-end tests: a real photo and a synthetic scene with known boxes."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

# (x1, y1, x2, y2) of the three shapes drawn by three_object_scene().
SCENE_BOXES = [(30, 100, 130, 200), (190, 90, 290, 210), (360, 90, 460, 210)]


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def coffee_jpeg() -> bytes:
    """scikit-image's coffee photo (real camera picture), as JPEG."""
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def three_object_scene() -> bytes:
    """A disc, a rectangle and a triangle on a light, slightly noisy background (480x320)."""
    rng = np.random.default_rng(3)
    background = 232 + rng.integers(-4, 5, size=(320, 480, 3))
    img = Image.fromarray(background.astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.ellipse(SCENE_BOXES[0], fill=(200, 40, 40))
    d.rectangle(SCENE_BOXES[1], fill=(40, 90, 200))
    x1, y1, x2, y2 = SCENE_BOXES[2]
    d.polygon([(x1, y2), ((x1 + x2) // 2, y1), (x2, y2)], fill=(40, 160, 60))
    return png(img)


# (x1, y1, x2, y2) of the disc and of the blank patch drawn by empty_proposal_scene().
EMPTY_SCENE_DISC = (40, 100, 150, 210)
EMPTY_SCENE_PATCH = (300, 110, 420, 210)


def empty_proposal_scene() -> bytes:
    """A red disc and, right of it, a blank patch: a grey ramp fading into the background.
    The embedded detector proposes the ramp's dark edge as an object; the matting stage
    (u2netp) finds nothing there (measured: alpha at most 47 of 255)."""
    rng = np.random.default_rng(3)
    background = 232 + rng.integers(-4, 5, size=(320, 480, 3))
    img = Image.fromarray(background.astype(np.uint8))
    ImageDraw.Draw(img).ellipse(EMPTY_SCENE_DISC, fill=(200, 40, 40))
    x1, y1, x2, y2 = EMPTY_SCENE_PATCH
    ramp = np.linspace(170, 232, x2 - x1)[None, :, None] * np.ones((y2 - y1, 1, 3))
    img.paste(Image.fromarray(ramp.astype(np.uint8)), (x1, y1))
    return png(img)


def with_transparent_background(photo: bytes, background_above: int = 220) -> bytes:
    """The photo as RGBA whose light background (every channel above the threshold) is
    fully transparent."""
    rgb = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"))
    alpha = np.where((rgb > background_above).all(axis=2), 0, 255).astype(np.uint8)
    return png(Image.fromarray(np.dstack([rgb, alpha]), "RGBA"))


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
