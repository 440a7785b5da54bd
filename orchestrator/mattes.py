"""Mattes without the matting stage (remove_background=false) and the empty-matte check.

An object whose matte has (almost) no foreground pixel (alpha >=
`meshpipe.images.FOREGROUND_ALPHA`, the threshold the shape stage also uses) is not an
object: the detector proposed a region that holds nothing. "Almost": under
`MIN_FOREGROUND_FRACTION` of the crop, a few stray pixels that the shape stage would drop
as specks or lose when it resamples the matte. `require_foreground` says so with the typed
`EmptyObject`, which the pipeline turns into a skipped object instead of a failure.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from meshpipe.images import FOREGROUND_ALPHA, encode_png
from orchestrator.domain import Box, MatteSource, Stage

MIN_FOREGROUND_FRACTION = 0.001
"""A matte with less foreground than this share of its crop is empty (a detected object
covers far more of its own padded box)."""


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


def foreground_fraction(rgba_png: bytes) -> float:
    """Share of the matte's pixels with alpha >= FOREGROUND_ALPHA (1 without alpha)."""
    with Image.open(io.BytesIO(rgba_png)) as img:
        if "A" not in img.getbands():
            return 1.0
        alpha = np.asarray(img.getchannel("A"))
    return float((alpha >= FOREGROUND_ALPHA).mean())


def require_foreground(rgba_png: bytes, source: MatteSource) -> None:
    """Raise EmptyObject when the matte has (almost) no foreground."""
    fraction = foreground_fraction(rgba_png)
    if fraction >= MIN_FOREGROUND_FRACTION:
        return
    where = "the matting stage found" if source is MatteSource.MATTING else "the photo's alpha has"
    raise EmptyObject(
        Stage.MATTING,
        f"empty matte: {where} no foreground in the detected box "
        f"({100 * fraction:.2f} % of its pixels, under {100 * MIN_FOREGROUND_FRACTION:.1f} %)",
    )
