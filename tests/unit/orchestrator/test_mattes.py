"""The empty-matte check and mattes made without the matting stage."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from meshpipe.images import encode_png
from orchestrator.domain import Box, MatteSource, Stage
from orchestrator.mattes import EmptyObject, own_matte, require_foreground


def _matte(alpha: np.ndarray) -> bytes:
    rgb = np.full((*alpha.shape, 3), 90, np.uint8)
    return encode_png(Image.fromarray(np.dstack([rgb, alpha]), "RGBA"))


def test_a_matte_with_an_object_passes() -> None:
    alpha = np.zeros((100, 100), np.uint8)
    alpha[40:60, 45:50] = 255  # 1 % of the crop: a thin object
    require_foreground(_matte(alpha), MatteSource.MATTING)


@pytest.mark.parametrize("peak", [0, 127, 255])
def test_no_or_a_few_stray_pixels_are_empty(peak: int) -> None:
    alpha = np.full((200, 200), min(peak, 100), np.uint8)
    alpha[10, 10:15] = peak  # 5 pixels of 40 000 at most
    with pytest.raises(EmptyObject) as empty:
        require_foreground(_matte(alpha), MatteSource.MATTING)
    assert empty.value.stage is Stage.MATTING
    assert "the matting stage found no foreground" in empty.value.reason


def test_own_matte_keeps_the_photo_alpha_or_makes_the_crop_opaque() -> None:
    pixels = np.zeros((40, 60, 4), np.uint8)
    pixels[10:30, 20:40] = (200, 10, 10, 255)
    photo = Image.fromarray(pixels, "RGBA")
    box = Box(x1=10, y1=5, x2=50, y2=35)
    data, source = own_matte(photo, box)
    assert source is MatteSource.PHOTO_ALPHA
    alpha = np.asarray(Image.open(io.BytesIO(data)))[..., 3]
    np.testing.assert_array_equal(alpha, pixels[5:35, 10:50, 3])
    data, source = own_matte(photo.convert("RGB"), box)
    assert source is MatteSource.OPAQUE
    with pytest.raises(EmptyObject, match="photo's alpha"):
        require_foreground(
            own_matte(photo, Box(x1=0, y1=0, x2=10, y2=10))[0], MatteSource.PHOTO_ALPHA
        )
    require_foreground(data, MatteSource.OPAQUE)
