"""Inputs of the end-to-end benchmark: photos with 1-4 objects at known boxes.

Each photo is a grey, lightly noisy background with 1-4 coloured objects (ellipses and
rounded boxes with a shading gradient). The boxes are known exactly: random-weight
detectors find nothing valid, so both policies take their boxes from here (the results say
so). A photo's key is the SHA-256 of its decoded RGB pixels, which the detector stage can
compute from the image it receives (PNG is lossless).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

SIDE = 768
COLOURS = ((200, 60, 40), (40, 120, 200), (60, 170, 80), (220, 180, 40))


@dataclass(frozen=True)
class Photo:
    name: str
    image: Image.Image
    boxes: list[tuple[int, int, int, int]]


def pixel_key(image: Image.Image) -> str:
    """SHA-256 of the RGB pixels (what the known-boxes detector looks photos up by)."""
    return hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()


def make_photo(name: str, objects: int, seed: int) -> Photo:
    """A photo with `objects` (1-4) objects in separate quadrants of the frame."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed).integers(0, 12, (SIDE, SIDE, 1), dtype=np.uint8)
    base = np.full((SIDE, SIDE, 3), 196, np.uint8) - noise
    image = Image.fromarray(base)
    draw = ImageDraw.Draw(image)
    half = SIDE // 2
    quadrants = rng.sample([(0, 0), (half, 0), (0, half), (half, half)], objects)
    boxes = []
    for i, (qx, qy) in enumerate(quadrants):
        w, h = rng.randint(half // 2, half - 60), rng.randint(half // 2, half - 60)
        x1, y1 = qx + rng.randint(20, half - w - 20), qy + rng.randint(20, half - h - 20)
        box = (x1, y1, x1 + w, y1 + h)
        colour = COLOURS[i % len(COLOURS)]
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rounded_rectangle(box, radius=min(w, h) // 6, fill=colour)
        boxes.append(box)
    return Photo(name, image, boxes)


def make_photos(objects: list[int], seed: int) -> list[Photo]:
    return [make_photo(f"job{i:02d}", k, seed + i) for i, k in enumerate(objects)]


def write_known_boxes(photos: list[Photo], path: Path) -> None:
    """{pixel key: [[x1, y1, x2, y2], ...]} for the known-boxes detector."""
    table = {pixel_key(p.image): [list(b) for b in p.boxes] for p in photos}
    path.write_text(json.dumps(table))


def read_known_boxes(path: Path) -> dict[str, Any]:
    table: dict[str, Any] = json.loads(path.read_text())
    return table
