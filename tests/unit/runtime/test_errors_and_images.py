"""The error table and untrusted-image decoding."""

from __future__ import annotations

import io
import struct
import zlib

import grpc
import pytest
from PIL import Image

from meshpipe.errors import InvalidInput, ResourceExhausted, Unavailable, to_status
from meshpipe.images import decode_image, decode_rgba, encode_png


def png_bytes(size: tuple[int, int] = (32, 24), mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (10, 20, 30, 255)[: len(mode)]).save(buf, "PNG")
    return buf.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height but carries (almost) no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)


def test_typed_errors_map_to_their_codes() -> None:
    assert to_status(InvalidInput("bad"))[:2] == (grpc.StatusCode.INVALID_ARGUMENT, "bad")
    assert to_status(Unavailable("loading"))[0] == grpc.StatusCode.UNAVAILABLE
    assert to_status(ResourceExhausted("full"))[0] == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_unexpected_errors_are_internal_and_hide_details() -> None:
    code, message, expected = to_status(KeyError("secret path /etc/x"))
    assert code == grpc.StatusCode.INTERNAL and not expected
    assert "secret" not in message and "reference" in message


def test_torch_style_oom_is_resource_exhausted() -> None:
    class OutOfMemoryError(RuntimeError):
        pass

    assert (
        to_status(OutOfMemoryError("CUDA out of memory"))[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    )


def test_decode_roundtrip() -> None:
    img = decode_image(png_bytes())
    assert img.size == (32, 24) and img.mode == "RGB"
    assert decode_image(encode_png(img)).size == (32, 24)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"hello world, not an image", "not a decodable image"),
        (png_bytes((64, 64))[:60], "truncated|corrupt"),
        (png_header_only(3000, 3000), "truncated|corrupt"),
        (png_header_only(50_000, 50_000), "over the limit|too many pixels"),
        (png_header_only(0, 10), "corrupt|empty|not a decodable"),
    ],
)
def test_bad_images_are_invalid_input(data: bytes, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        decode_image(data, max_pixels=10_000_000)


def test_pixel_limit_is_checked_before_decoding() -> None:
    with pytest.raises(InvalidInput, match="32x24 = 768 pixels, over the limit of 100"):
        decode_image(png_bytes(), max_pixels=100)


def test_decode_rgba_requires_a_non_empty_alpha() -> None:
    with pytest.raises(InvalidInput, match="must be RGBA"):
        decode_rgba(png_bytes())
    transparent = io.BytesIO()
    Image.new("RGBA", (8, 8), (1, 2, 3, 0)).save(transparent, "PNG")
    with pytest.raises(InvalidInput, match="empty alpha"):
        decode_rgba(transparent.getvalue())
    assert decode_rgba(png_bytes(mode="RGBA")).mode == "RGBA"
