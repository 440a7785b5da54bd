"""Validation of a submission: the photo (header first, then a full decode), the prompt and
every option's range. Each problem is an InvalidInput whose message names the field."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from meshpipe.errors import InvalidInput
from meshpipe.images import decode_image, image_extension
from orchestrator.domain import JobRequest
from orchestrator.settings import Limits

# (low, high) inclusive for each knob; 0 always means "the stage's default".
STEPS_RANGE = (1, 200)
OCTREE_RANGE = (16, 512)
TEXTURE_SIZE_RANGE = (256, 4096)
GUIDANCE_RANGE = (0.0, 100.0)  # exclusive low
FRACTION_RANGE = (0.0, 1.0)  # exclusive low
CROP_PADDING_RANGE = (0.0, 2.0)  # exclusive low


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
    return ValidImage(image=image, extension=image_extension(data))
