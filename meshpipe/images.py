"""Decoding and validating untrusted image bytes, and encoding results."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from meshpipe.errors import InvalidInput

DEFAULT_MAX_PIXELS = 40_000_000
FOREGROUND_ALPHA = 128
"""Alpha from which a pixel belongs to the object; a matte with none is empty."""
_FORMATS = ("PNG", "JPEG", "WEBP")


def decode_image(
    data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, *, what: str = "image"
) -> Image.Image:
    """Decode PNG/JPEG/WebP bytes into an RGB or RGBA image, or raise InvalidInput.

    The pixel count is checked from the header before any pixel is decoded, so a
    decompression bomb costs nothing.
    """
    if not data:
        raise InvalidInput(f"{what} is empty (0 bytes)")
    try:
        img: Image.Image = Image.open(io.BytesIO(data), formats=_FORMATS)
    except UnidentifiedImageError:
        raise InvalidInput(
            f"{what} is not a decodable image (PNG, JPEG or WebP expected)"
        ) from None
    except Image.DecompressionBombError:
        raise InvalidInput(f"{what} has too many pixels (decompression bomb)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"{what} header is corrupt: {exc}") from None
    width, height = img.size
    if width <= 0 or height <= 0:
        raise InvalidInput(f"{what} has an empty size {width}x{height}")
    if width * height > max_pixels:
        raise InvalidInput(
            f"{what} is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}"
        )
    try:
        img.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"{what} is truncated or corrupt: {exc}") from None
    if img.mode not in ("RGB", "RGBA"):
        has_alpha = img.mode in ("LA", "PA") or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
    return img


def decode_rgba(
    data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, *, what: str = "image"
) -> Image.Image:
    """Decode an RGBA object image and check that its alpha is not empty."""
    img = decode_image(data, max_pixels, what=what)
    if img.mode != "RGBA":
        raise InvalidInput(f"{what} must be RGBA (an object with its matte), got {img.mode}")
    if not has_foreground(img):
        raise InvalidInput(f"{what} has an empty alpha channel: no object to work on")
    return img


def has_foreground(img: Image.Image) -> bool:
    """Whether an RGBA image has a pixel with alpha >= FOREGROUND_ALPHA (RGB: always)."""
    if img.mode != "RGBA":
        return True
    alpha_max = img.getchannel("A").getextrema()[1]
    return isinstance(alpha_max, int | float) and alpha_max >= FOREGROUND_ALPHA


def encode_png(img: Image.Image, compress_level: int = 3) -> bytes:
    """Encode an image as PNG bytes."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()
