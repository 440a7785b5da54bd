"""Ready-made scenes: a matting crop on a textured background, and multi-object layouts."""

from __future__ import annotations

import numpy as np

from tests.unit.scenes import sprites
from tests.unit.scenes.compose import Scene, Sprite, composite
from tests.unit.scenes.textures import photo, tinted_texture

# Plain backgrounds and object colours far apart in colour (no camouflage by construction).
BACKGROUNDS = ((0.93, 0.92, 0.88), (0.55, 0.58, 0.62), (0.16, 0.20, 0.32))
OBJECT_COLOURS = ((0.85, 0.15, 0.12), (0.12, 0.55, 0.20), (0.95, 0.75, 0.10), (0.20, 0.35, 0.85))


def matting_crop(
    photo_name: str,
    texture: str,
    tint: tuple[float, float, float],
    size: int = 480,
    object_height: int = 330,
) -> Scene:
    """A horse silhouette filled with a real photo, centred on a tinted real texture."""
    obj = sprites.horse(photo(photo_name), object_height)
    background = tinted_texture(texture, (size, size), tint)
    h, w = obj.alpha.shape
    return composite(background, [(obj, (size - h) // 2, (size - w) // 2)])


def three_objects(seed: int, height: int = 360, width: int = 540) -> Scene:
    """Three separated objects (solid, texture-filled and photo-filled shapes of varied
    form) on a plain background; object i lies inside column i of three."""
    rng = np.random.default_rng(seed)
    background = np.broadcast_to(
        np.asarray(BACKGROUNDS[seed % len(BACKGROUNDS)], np.float32), (height, width, 3)
    ).copy()
    pool = _object_pool(rng)
    chosen = [pool[i] for i in rng.permutation(len(pool))[:3]]
    placed = []
    column = width // 3
    for i, sprite in enumerate(chosen):
        h, w = sprite.alpha.shape
        row = int(rng.integers(12, height - h - 12))
        col = i * column + int(rng.integers(10, column - w - 10))
        placed.append((sprite, row, col))
    return composite(background, placed)


def _object_pool(rng: np.random.Generator) -> list[Sprite]:
    colours = [OBJECT_COLOURS[i] for i in rng.permutation(len(OBJECT_COLOURS))]
    size = lambda: int(rng.integers(85, 135))  # noqa: E731
    brick = tinted_texture("brick", (256, 256), (0.9, 0.45, 0.3))
    return [
        sprites.shape("ellipse", size(), colours[0]),
        sprites.shape("star", size(), colours[1]),
        sprites.shape("triangle", size(), colours[2]),
        sprites.shape("rounded_square", size(), brick),
        sprites.shape("ellipse", size(), photo("coffee")),
        sprites.horse(photo("chelsea"), size() * 4 // 5),
    ]
