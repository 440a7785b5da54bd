"""Validation of a submission: the photo (header first, then a full decode), the prompt and
every option's range (from the knob table in meshpipe.options, which the stages resolve
with too). Each problem is an InvalidInput whose message names the field."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from meshpipe.errors import InvalidInput
from meshpipe.images import decode_image
from meshpipe.options import KNOBS
from orchestrator.domain import JobRequest
from orchestrator.settings import Limits


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
    for knob in KNOBS:  # every stage knob of JobOptions, against the stages' own table
        knob.check(getattr(o, knob.name))


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
