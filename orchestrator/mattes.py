"""Mattes without the matting stage (remove_background=false) and the empty-matte check.

An object whose matte has no foreground pixel (alpha >= `meshpipe.images.FOREGROUND_ALPHA`,
the threshold the shape stage also uses) is not an object: the detector proposed a region
that holds nothing. `require_foreground` says so with the typed `EmptyObject`, which the
pipeline turns into a skipped object instead of a failure.
"""

from __future__ import annotations

import io

from PIL import Image

from meshpipe.images import encode_png, has_foreground
from orchestrator.domain import Box, MatteSource, Stage


class EmptyObject(Exception):
    """The object's matte is empty: it is skipped, not failed."""

    def __init__(self, stage: Stage, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


def own_matte(image: Image.Image, box: Box) -> tuple[bytes, MatteSource]:
    """The crop as an RGBA matte PNG without matting: the photo's alpha where it has one,
    otherwise fully opaque (the whole crop is the object)."""
    region = image.crop((int(box.x1), int(box.y1), int(box.x2), int(box.y2)))
    source = MatteSource.PHOTO_ALPHA if region.mode == "RGBA" else MatteSource.OPAQUE
    return encode_png(region.convert("RGBA")), source


def require_foreground(rgba_png: bytes, source: MatteSource) -> None:
    """Raise EmptyObject when the matte has no foreground pixel."""
    with Image.open(io.BytesIO(rgba_png)) as img:
        img.load()
        if has_foreground(img.convert("RGBA") if img.mode != "RGBA" else img):
            return
    where = "the matting stage found" if source is MatteSource.MATTING else "the photo's alpha has"
    raise EmptyObject(Stage.MATTING, f"empty matte: {where} no foreground in the detected box")
