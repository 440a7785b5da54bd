"""Decoding and validating untrusted image bytes, and encoding results.

Accepts what cameras and browsers produce: PNG, JPEG, WebP, GIF (first frame), BMP, TIFF
(first page) and HEIC/HEIF (pillow-heif). Every decoded image is upright (EXIF orientation
applied), 8 bits per channel (16-bit and float images scaled, not clipped) and RGB or RGBA
(CMYK through its embedded ICC profile where it has one).
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from meshpipe.errors import InvalidInput

DEFAULT_MAX_PIXELS = 40_000_000
_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF", "HEIF")
FORMAT_NAMES = "PNG, JPEG, WebP, GIF, BMP, TIFF or HEIC"


@functools.cache
def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF (once, on first use: no import-time side effect)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


FOREGROUND_ALPHA = 128
"""Alpha from which a pixel belongs to the object; a matte with none is empty."""


def decode_image(
    data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, *, what: str = "image"
) -> Image.Image:
    """Decode image bytes into an upright 8-bit RGB or RGBA image, or raise InvalidInput.

    The pixel count is checked from the header before any pixel is decoded, so a
    decompression bomb costs nothing.
    """
    img = _open_checked(data, max_pixels, what)
    try:
        img.load()
        img = _to_rgb(img)
        ImageOps.exif_transpose(img, in_place=True)  # no copy of an upright image
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"{what} is truncated or corrupt: {exc}") from None
    return img


def _open_checked(data: bytes, max_pixels: int, what: str) -> Image.Image:
    """Open (header only) and check the size against the pixel limit."""
    if not data:
        raise InvalidInput(f"{what} is empty (0 bytes)")
    _register_heif()
    try:
        img: Image.Image = Image.open(io.BytesIO(data), formats=_FORMATS)
    except UnidentifiedImageError:
        raise InvalidInput(f"{what} is not a decodable image ({FORMAT_NAMES} expected)") from None
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
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any decoded mode -> 8-bit RGB or RGBA, keeping the EXIF for exif_transpose."""
    if img.mode in ("RGB", "RGBA"):
        return img
    exif = img.getexif()
    if img.mode.startswith("I") or img.mode == "F":
        out = _scale_to_8bit(img)
    elif img.mode == "CMYK":
        out = _cmyk_to_rgb(img)
    else:
        has_alpha = img.mode in ("LA", "La", "PA", "RGBa") or "transparency" in img.info
        out = img.convert("RGBA" if has_alpha else "RGB")
    if exif:
        out.info["exif"] = exif.tobytes()
    return out


def _scale_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit (I;16*, I) and float (F) grayscale scaled to 8 bits; PIL's convert would clip."""
    arr = np.asarray(img)
    if img.mode == "F":
        top = 1.0 if float(np.nanmax(arr, initial=0.0)) <= 1.0 else 255.0
        scaled = np.nan_to_num(arr, nan=0.0) / top * 255.0
    else:
        bits = 8 if img.mode == "I" and int(arr.max(initial=0)) <= 255 else 16
        scaled = arr.astype(np.float64) * (255.0 / (2**bits - 1))
    gray = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(gray, mode="L").convert("RGB")


def _cmyk_to_rgb(img: Image.Image) -> Image.Image:
    """CMYK through its embedded ICC profile to sRGB; a naive conversion without one."""
    icc = img.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(img, source, srgb, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall back to the naive conversion below
    return img.convert("RGB")


def image_extension(data: bytes) -> str:
    """The file extension for image bytes, from their signature (InvalidInput if unknown)."""
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data.startswith(b"BM"):
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tif"
    if data[4:8] == b"ftyp":
        return "heic"
    raise InvalidInput(f"image is not {FORMAT_NAMES}")


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


def decode_working_rgba(data: bytes, max_pixels: int, max_side: int) -> Image.Image:
    """An RGBA object image (see decode_rgba) at most `max_side` on its longest side."""
    return fit_within(decode_rgba(data, max_pixels, what="rgba_png"), max_side)


def fit_within(img: Image.Image, max_side: int) -> Image.Image:
    """The image itself, or a copy downscaled (Lanczos, aspect kept) so that its longest side
    is `max_side`; 0 = no bound. Stages bound their working resolution with it."""
    if max_side <= 0 or max(img.size) <= max_side:
        return img
    scale = max_side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


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
