"""Validation of a submission: the photo (header first, then a full decode), the prompt and
every option's range (from the knob table in meshpipe.options, which the stages resolve
with too). Each problem is an InvalidInput whose message names the field."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from meshpipe.errors import InvalidInput
from meshpipe.images import decode_image, image_extension
from meshpipe.options import KNOBS
from meshpipe.runtime.callctx import MAX_REQUEST_ID_CHARS, accept_request_id
from meshpipe.v1 import orchestrator_pb2 as pb
from orchestrator.domain import JobRequest
from orchestrator.exports import FORMATS, REFUSED
from orchestrator.settings import Limits

MAX_TIME_LIMIT_SECONDS = 7 * 24 * 3600.0
MAX_QUALITY_CHARS = 32
MAX_FORMAT_CHARS = 16
TARGET_FACES_RANGE = (1_000, 500_000)  # options.target_faces, 0 = the stage's own mesh
FORMAT_CHOICES = ("glb", *FORMATS)  # glb is always made; naming it is allowed
MAX_FORMATS = 8  # entries in options.formats


@dataclass(frozen=True)
class ValidImage:
    """A photo that decoded completely."""

    image: Image.Image
    extension: str


def check_strings(request: pb.SubmitJobRequest, limits: Limits) -> None:
    """Bound every string a client sends before anything uses or logs it (messages quote at
    most a short prefix). Raises InvalidInput naming the field."""
    _check_len("prompt", request.prompt, limits.max_prompt_chars)
    _check_len("name", request.name, limits.max_name_chars)
    _check_len("options.quality", request.options.quality, MAX_QUALITY_CHARS)
    _check_len("request_id", request.request_id, MAX_REQUEST_ID_CHARS)
    if request.request_id and not accept_request_id(request.request_id) == request.request_id:
        raise InvalidInput("request_id may only hold letters, digits and ._:-", "request_id")
    formats = list(request.options.formats)
    if len(formats) > MAX_FORMATS:
        raise InvalidInput(f"options.formats lists over {MAX_FORMATS} formats", "options.formats")
    for i, value in enumerate(formats):
        _check_len(f"options.formats[{i}]", value, MAX_FORMAT_CHARS)


def _check_len(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidInput(
            f"{field} is {len(value)} characters long, over the limit of {limit}", field
        )


def validate_request(request: JobRequest, limits: Limits) -> None:
    """Check the prompt, name and options (not the image)."""
    _check_len("prompt", request.prompt, limits.max_prompt_chars)
    _check_len("name", request.name, limits.max_name_chars)
    o = request.options
    limit = o.time_limit_seconds
    if not math.isfinite(limit) or not 0 <= limit <= MAX_TIME_LIMIT_SECONDS:
        raise InvalidInput(
            f"options.time_limit_seconds={limit} is out of range: 0 (none) to "
            f"{MAX_TIME_LIMIT_SECONDS}",
            "options.time_limit_seconds",
        )
    if o.max_objects > limits.max_objects:
        raise InvalidInput(
            f"options.max_objects={o.max_objects} is over the limit of {limits.max_objects}",
            "options.max_objects",
        )
    for knob in KNOBS:  # every stage knob of JobOptions, against the stages' own table
        knob.check(getattr(o, knob.name))
    _check_int("options.target_faces", o.target_faces, TARGET_FACES_RANGE)
    o.formats = _check_formats(o.formats)


def _check_formats(formats: list[str]) -> list[str]:
    """The extra formats asked for, lower-case, deduplicated, GLB dropped (always made)."""
    if len(formats) > MAX_FORMATS:
        raise InvalidInput(
            f"options.formats has {len(formats)} entries, over {MAX_FORMATS}", "options.formats"
        )
    out: list[str] = []
    for given in formats:
        fmt = given.strip().lower()
        if fmt in REFUSED:
            raise InvalidInput(f"options.formats: {REFUSED[fmt]}", "options.formats")
        if fmt not in FORMAT_CHOICES:
            raise InvalidInput(
                f"options.formats: unknown format {given[:40]!r}; choose from "
                f"{', '.join(FORMAT_CHOICES)}",
                "options.formats",
            )
        if fmt != "glb" and fmt not in out:
            out.append(fmt)
    return out


def _check_int(name: str, value: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if value != 0 and not low <= value <= high:
        raise InvalidInput(f"{name}={value} is out of range: 0 (default) or {low}..{high}", name)


def validate_image(data: bytes, limits: Limits) -> ValidImage:
    """Decode the photo completely (blocking): the header is checked against the pixel limit
    before any pixel is decoded, then truncation and corruption are caught by the decode."""
    image = decode_image(data, limits.max_image_pixels, what="image")
    return ValidImage(image=image, extension=image_extension(data))
