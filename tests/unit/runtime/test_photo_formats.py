"""Real photos: EXIF orientation, 16-bit images, GIF/BMP/TIFF/HEIC and CMYK decode upright,
8-bit and true to their pixels (meshpipe.images, used by the orchestrator and every stage)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from meshpipe.errors import InvalidInput
from meshpipe.images import decode_image, image_extension
from tests.support import photos


def mean_abs_diff(a: Image.Image, b: Image.Image | np.ndarray) -> float:
    return float(np.abs(np.asarray(a).astype(int) - np.asarray(b).astype(int)).mean())


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(orientation: int) -> None:
    upright = photos.coffee()  # 600 wide, 400 tall
    data = photos.exif_rotated_jpeg(upright, orientation)
    assert Image.open(io.BytesIO(data)).size != upright.size or orientation == 3
    decoded = decode_image(data)
    assert decoded.size == (600, 400)
    assert mean_abs_diff(decoded, upright) < 4  # JPEG noise only
    # what the old decoder produced (pixels as stored) is far from the upright photo
    stored = Image.open(io.BytesIO(data)).convert("RGB")
    if stored.size == upright.size:
        assert mean_abs_diff(stored, upright) > 20


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16bit_gray_is_scaled_not_clipped(fmt: str) -> None:
    arr = photos.camera16()
    data = photos.save(Image.fromarray(arr), fmt)
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    decoded = decode_image(data)
    assert decoded.mode == "RGB"
    expected = np.rint(arr / 257.0).astype(np.uint8)
    got = np.asarray(decoded)
    assert np.abs(got[..., 0].astype(int) - expected).max() <= 1
    assert (got[..., 0] == got[..., 2]).all()
    assert 100 < got.mean() < 160  # camera's mean is ~129; clipping gave ~255


@pytest.mark.parametrize("make", [photos.png16_rgb, photos.tiff16], ids=["png", "tiff"])
def test_16bit_rgb_keeps_its_colours(make: object) -> None:
    from skimage import data

    rgb8 = data.astronaut()
    encoded = make(rgb8.astype(np.uint16) * 257)  # type: ignore[operator]
    decoded = decode_image(encoded)
    assert decoded.mode == "RGB" and decoded.size == (512, 512)
    assert np.abs(np.asarray(decoded).astype(int) - rgb8).max() <= 1


def test_heic_decodes_and_honours_its_orientation() -> None:
    from pillow_heif import from_pillow

    upright = photos.coffee()
    assert mean_abs_diff(decode_image(photos.heic(upright)), upright) < 5
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    from_pillow(upright.transpose(Image.Transpose.ROTATE_90)).save(
        buf, quality=90, exif=exif.tobytes()
    )
    decoded = decode_image(buf.getvalue())
    assert decoded.size == (600, 400) and mean_abs_diff(decoded, upright) < 5


def test_gif_gives_its_first_frame() -> None:
    first = photos.coffee()
    second = Image.fromarray(255 - np.asarray(first))
    decoded = decode_image(photos.two_frame_gif(first, second))
    assert decoded.size == (600, 400) and decoded.mode in ("RGB", "RGBA")
    rgb = decoded.convert("RGB")
    assert mean_abs_diff(rgb, first) < 20 < mean_abs_diff(rgb, second)


def test_bmp_is_exact() -> None:
    img = photos.coffee()
    assert mean_abs_diff(decode_image(photos.save(img, "BMP")), img) == 0


def test_cmyk_without_profile_is_converted() -> None:
    img = photos.coffee()
    data = photos.save(img.convert("CMYK"), "JPEG", quality=95)
    decoded = decode_image(data)
    assert decoded.mode == "RGB" and mean_abs_diff(decoded, img) < 4


def test_cmyk_goes_through_its_icc_profile() -> None:
    cyan_ink = Image.new("CMYK", (32, 32), (255, 0, 0, 0))
    naive = decode_image(photos.save(cyan_ink, "JPEG", quality=95)).getpixel((16, 16))
    assert isinstance(naive, tuple) and naive[0] < 30 and naive[1] > 220  # cyan
    # the odd profile says cyan ink prints red: only a decoder that uses it gives red
    data = photos.save(cyan_ink, "JPEG", quality=95, icc_profile=photos.odd_cmyk_profile())
    red = decode_image(data).getpixel((16, 16))
    assert isinstance(red, tuple) and red[0] > 200 and red[1] < 60 and red[2] < 60


@pytest.mark.parametrize("fmt", ["BMP", "GIF", "TIFF"])
def test_pixel_limit_applies_to_every_format(fmt: str) -> None:
    data = photos.save(Image.new("RGB", (300, 200)), fmt)
    with pytest.raises(InvalidInput, match="300x200 = 60000 pixels, over the limit of 50000"):
        decode_image(data, max_pixels=50_000)


def test_heic_pixel_limit() -> None:
    with pytest.raises(InvalidInput, match="over the limit"):
        decode_image(photos.heic(photos.coffee()), max_pixels=1000)


@pytest.mark.parametrize(
    ("fmt", "ext"),
    [
        ("PNG", "png"),
        ("JPEG", "jpg"),
        ("WEBP", "webp"),
        ("GIF", "gif"),
        ("BMP", "bmp"),
        ("TIFF", "tif"),
    ],
)
def test_extension_from_signature(fmt: str, ext: str) -> None:
    assert image_extension(photos.save(Image.new("RGB", (8, 8)), fmt)) == ext


def test_heic_extension_and_unknown_bytes() -> None:
    assert image_extension(photos.heic(Image.new("RGB", (64, 64)))) == "heic"
    with pytest.raises(InvalidInput, match="HEIC"):
        image_extension(b"plain text, not a photo")
