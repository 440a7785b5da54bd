"""Validation of a submission: the photo (header first, then a full decode), the prompt and
every option's range. Each problem is an InvalidInput whose message names the field."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from meshpipe.errors import InvalidInput
from meshpipe.images import decode_image
from orchestrator.domain import JobRequest
from orchestrator.exports import FORMATS, REFUSED
from orchestrator.settings import Limits

# (low, high) inclusive for each knob; 0 always means "the stage's default".
STEPS_RANGE = (1, 200)
OCTREE_RANGE = (16, 512)
TEXTURE_SIZE_RANGE = (256, 4096)
GUIDANCE_RANGE = (0.0, 100.0)  # exclusive low
FRACTION_RANGE = (0.0, 1.0)  # exclusive low
CROP_PADDING_RANGE = (0.0, 2.0)  # exclusive low
TARGET_FACES_RANGE = (1_000, 500_000)
FORMAT_CHOICES = ("glb", *FORMATS)  # glb is always made; naming it is allowed
MAX_FORMATS = 8  # entries in options.formats


@dataclass(frozen=True)
class ValidImage:
    """A photo that decoded completely."""

    image: Image.Image
    extension: str


def validate_request(request: JobRequest, limits: Limits) -> None:
    """Check the prompt, name and options (not the image)."""
    if len(request.prompt) > limits.max_prompt_chars:
        raise InvalidInput(
            f"prompt is {len(request.prompt)} characters long, over the limit of "
            f"{limits.max_prompt_chars}"
        )
    if len(request.name) > limits.max_name_chars:
        raise InvalidInput(f"name is over the limit of {limits.max_name_chars} characters")
    o = request.options
    if o.max_objects > limits.max_objects:
        raise InvalidInput(
            f"options.max_objects={o.max_objects} is over the limit of {limits.max_objects}"
        )
    _check_int("options.shape.steps", o.steps, STEPS_RANGE)
    _check_int("options.shape.octree_resolution", o.octree_resolution, OCTREE_RANGE)
    _check_int("options.texture_options.texture_size", o.texture_size, TEXTURE_SIZE_RANGE)
    _check_float("options.shape.guidance_scale", o.guidance_scale, GUIDANCE_RANGE)
    _check_float("options.detector.min_area_fraction", o.min_area_fraction, FRACTION_RANGE)
    _check_float("options.detector.nms_iou", o.nms_iou, FRACTION_RANGE)
    _check_float("options.detector.crop_padding", o.crop_padding, CROP_PADDING_RANGE)
    _check_int("options.target_faces", o.target_faces, TARGET_FACES_RANGE)
    o.formats = _check_formats(o.formats)


def _check_formats(formats: list[str]) -> list[str]:
    """The extra formats asked for, lower-case, deduplicated, GLB dropped (always made)."""
    if len(formats) > MAX_FORMATS:
        raise InvalidInput(f"options.formats has {len(formats)} entries, over {MAX_FORMATS}")
    out: list[str] = []
    for given in formats:
        fmt = given.strip().lower()
        if fmt in REFUSED:
            raise InvalidInput(f"options.formats: {REFUSED[fmt]}")
        if fmt not in FORMAT_CHOICES:
            raise InvalidInput(
                f"options.formats: unknown format {given[:40]!r}; choose from "
                f"{', '.join(FORMAT_CHOICES)}"
            )
        if fmt != "glb" and fmt not in out:
            out.append(fmt)
    return out


def _check_int(name: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if value != 0 and not low <= value <= high:
        raise InvalidInput(f"{name}={value} is out of range: 0 (default) or {low}..{high}")


def _check_float(name: str, value: float, bounds: tuple[float, float]) -> None:
    low, high = bounds
    if not math.isfinite(value) or value < 0 or value > high or (0 < value <= low):
        raise InvalidInput(f"{name}={value} is out of range: 0 (default) or in ({low}, {high}]")


def validate_image(data: bytes, limits: Limits) -> ValidImage:
    """Decode the photo completely (blocking): the header is checked against the pixel limit
    before any pixel is decoded, then truncation and corruption are caught by the decode."""
    image = decode_image(data, limits.max_image_pixels, what="image")
    return ValidImage(image=image, extension=_extension(data))


def _extension(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    raise InvalidInput("image is not PNG, JPEG or WebP")
