"""Submission validation: every out-of-range option and bad photo is INVALID_ARGUMENT."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from meshpipe.errors import InvalidInput
from orchestrator.domain import JobOptions, JobRequest
from orchestrator.quality import apply_quality
from orchestrator.settings import Limits
from orchestrator.validation import validate_image, validate_request

LIMITS = Limits(max_image_pixels=1_000_000, max_prompt_chars=50, max_objects=4)


def _png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size, with a few bytes of pixel data (a decompression bomb's
    head: decoding it would allocate width x height pixels)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (JobOptions(max_objects=5), "max_objects"),
        (JobOptions(steps=500), "steps"),
        (JobOptions(octree_resolution=8), "octree_resolution"),
        (JobOptions(texture_size=10_000), "texture_size"),
        (JobOptions(texture_size=16), "texture_size"),
        (JobOptions(guidance_scale=-1.0), "guidance_scale"),
        (JobOptions(guidance_scale=float("nan")), "guidance_scale"),
        (JobOptions(min_area_fraction=1.5), "min_area_fraction"),
        (JobOptions(min_area_fraction=-0.1), "min_area_fraction"),
        (JobOptions(nms_iou=2.0), "nms_iou"),
        (JobOptions(crop_padding=3.0), "crop_padding"),
        (JobOptions(target_faces=999), "target_faces"),
        (JobOptions(target_faces=500_001), "target_faces"),
        (JobOptions(formats=["usdz"]), "usdz is not supported"),
        (JobOptions(formats=["fbx"]), "unknown format 'fbx'"),
        (JobOptions(formats=["obj"] * 9), "formats"),
    ],
)
def test_out_of_range_options_name_the_field(options: JobOptions, field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        validate_request(JobRequest(image=b"x", options=options), LIMITS)


def test_in_range_and_default_options_pass() -> None:
    ok = JobOptions(
        max_objects=4,
        steps=30,
        octree_resolution=256,
        texture_size=1024,
        guidance_scale=5.0,
        min_area_fraction=0.01,
        nms_iou=0.5,
        crop_padding=0.2,
    )
    validate_request(JobRequest(image=b"x", options=ok), LIMITS)
    validate_request(JobRequest(image=b"x"), LIMITS)


def test_prompt_over_the_limit() -> None:
    with pytest.raises(InvalidInput, match="prompt is 51 characters"):
        validate_request(JobRequest(image=b"x", prompt="a" * 51), LIMITS)


def test_unknown_quality_preset() -> None:
    with pytest.raises(InvalidInput, match="quality"):
        apply_quality(JobOptions(), "ultra")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello world, not an image", "not a decodable image"),
        (_png(64, 64)[:60], "truncated|corrupt"),
        (png_header_only(2000, 2000), "over the limit"),
        (png_header_only(0, 10), "not a decodable|corrupt|empty size"),
    ],
)
def test_bad_images(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_image(data, LIMITS)


def test_good_image_reports_its_extension() -> None:
    valid = validate_image(_png(32, 16), LIMITS)
    assert valid.extension == "png" and valid.image.size == (32, 16)


def test_formats_are_normalised_and_glb_is_implicit() -> None:
    request = JobRequest(image=b"x", options=JobOptions(formats=["OBJ", " stl", "glb", "obj"]))
    validate_request(request, LIMITS)
    assert request.options.formats == ["obj", "stl"]


def test_target_faces_bounds_are_inclusive() -> None:
    for value in (0, 1_000, 500_000):
        validate_request(JobRequest(image=b"x", options=JobOptions(target_faces=value)), LIMITS)
