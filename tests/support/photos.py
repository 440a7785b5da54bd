"""Photos as cameras and browsers store them, made from scikit-image's sample photos: EXIF
orientations, 16-bit PNG/TIFF, HEIC, GIF, BMP, CMYK JPEG (with and without an ICC profile)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

# EXIF orientation -> the transpose that turns an upright image into what the file stores.
STORED_AS = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,  # stored rotated 90° counter-clockwise; shown turned back
    8: Image.Transpose.ROTATE_270,
}


def coffee() -> Image.Image:
    """scikit-image's coffee photo, 600x400 RGB (wider than tall)."""
    from skimage import data

    return Image.fromarray(data.coffee())


def camera16() -> np.ndarray:
    """scikit-image's camera photo scaled to the full 16-bit range (uint16, 512x512)."""
    from skimage import data

    return data.camera().astype(np.uint16) * 257


def save(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def exif_rotated_jpeg(upright: Image.Image, orientation: int) -> bytes:
    """A JPEG storing `upright` turned as a phone does, with the EXIF orientation tag."""
    stored = upright.transpose(STORED_AS[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(stored, "JPEG", quality=95, exif=exif.tobytes())


def png16_rgb(arr: np.ndarray) -> bytes:
    """A 48-bit (16 bits per channel) RGB PNG, written by hand (Pillow cannot write one)."""
    height, width, _ = arr.shape
    rows = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def tiff16(arr: np.ndarray) -> bytes:
    """A 16-bit TIFF (gray or RGB) written by tifffile."""
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, arr)
    return buf.getvalue()


def two_frame_gif(first: Image.Image, second: Image.Image) -> bytes:
    """An animated GIF whose frames differ."""
    return save(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)


def heic(img: Image.Image) -> bytes:
    """HEIC (HEVC) via pillow-heif."""
    from pillow_heif import from_pillow

    buf = io.BytesIO()
    from_pillow(img).save(buf, quality=90)
    return buf.getvalue()


# CMYK JPEG with an ICC profile -------------------------------------------------------------


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _lab16(rgb: tuple[float, float, float]) -> list[int]:
    """An sRGB colour as ICC v2 lut16 Lab (L 0..0xFF00, a/b offset by 128, times 256)."""
    from skimage.color import rgb2lab

    lab = rgb2lab(np.array([[rgb]], dtype=np.float64), illuminant="D50")[0, 0]
    return [round(lab[0] * 652.8), round((lab[1] + 128) * 256), round((lab[2] + 128) * 256)]


def odd_cmyk_profile() -> bytes:
    """A CMYK printer profile (CMYK -> Lab, 2-point lut16) that is deliberately not the naive
    conversion: cyan ink shows as red, magenta as green, yellow as blue. An image decoded
    through it looks different from one converted naively, so a test can tell which ran."""
    ink = {0: (1.0, 0.0, 0.0), 1: (0.0, 1.0, 0.0), 2: (0.0, 0.0, 1.0)}
    clut: list[int] = []
    for corner in range(16):  # first channel (C) varies slowest
        bits = [(corner >> (3 - ch)) & 1 for ch in range(4)]
        rgb = np.ones(3) * (0.0 if bits[3] else 1.0)
        for ch in range(3):
            if bits[ch]:
                rgb = rgb * np.array(ink[ch])
        clut += _lab16((float(rgb[0]), float(rgb[1]), float(rgb[2])))
    identity = b"".join(_s15(1.0 if r == c else 0.0) for r in range(3) for c in range(3))
    lut = b"mft2" + bytes(4) + bytes([4, 3, 2, 0]) + identity + struct.pack(">HH", 2, 2)
    lut += struct.pack(">8H", *([0, 65535] * 4)) + struct.pack(f">{len(clut)}H", *clut)
    lut += struct.pack(">6H", *([0, 65535] * 3))
    wtpt = b"XYZ " + bytes(4) + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    name = b"odd test CMYK\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(name)) + name + bytes(4 + 4 + 3 + 67)
    cprt = b"text" + bytes(4) + b"none\x00"
    return _icc_file([(b"desc", desc), (b"cprt", cprt), (b"wtpt", wtpt), (b"A2B0", lut)])


def _icc_file(tags: list[tuple[bytes, bytes]]) -> bytes:
    table_end = 128 + 4 + 12 * len(tags)
    offsets, body, at = [], b"", table_end
    for _, data in tags:
        padded = data + bytes(-len(data) % 4)
        offsets.append((at, len(data)))
        body += padded
        at += len(padded)
    header = struct.pack(">I", at) + bytes(4) + bytes([2, 0x10, 0, 0]) + b"prtrCMYKLab "
    header += bytes(12) + b"acsp" + bytes(4 + 4 + 4 + 4 + 8) + struct.pack(">I", 0)
    header += _s15(0.9642) + _s15(1.0) + _s15(0.8249) + bytes(4 + 16 + 28)
    table = struct.pack(">I", len(tags)) + b"".join(
        sig + struct.pack(">II", off, size)
        for (sig, _), (off, size) in zip(tags, offsets, strict=True)
    )
    return header + table + body
