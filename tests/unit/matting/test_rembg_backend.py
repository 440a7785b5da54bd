"""The embedded matting backend (rembg + u2netp) on composites with known mattes and on
real photos. Needs ~/.u2net/u2netp.onnx (`meshpipe weights fetch-default`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from meshpipe.errors import FailedPrecondition, InvalidInput
from services.matting.backends import MatteResult, MattingBackend, build_backend
from services.matting.settings import MattingSettings
from tests.unit.scenes.compose import Scene, box_iou, mask_iou
from tests.unit.scenes.library import matting_crop
from tests.unit.scenes.textures import photo_uint8

# A horse silhouette filled with a real photo on a real texture, colours not camouflaged.
SCENES = {
    "coffee-on-grass": ("coffee", "grass", (0.45, 0.75, 0.35)),
    "chelsea-on-grey-brick": ("chelsea", "brick", (0.8, 0.8, 0.8)),
    "astronaut-on-gravel": ("astronaut", "gravel", (0.7, 0.7, 0.75)),
}
COFFEE_CUP_AND_SAUCER = (75, 17, 480, 388)


def settings(**overrides: object) -> MattingSettings:
    return MattingSettings.model_validate(overrides)


@pytest.fixture(scope="module")
def backend() -> Iterator[MattingBackend]:
    b = build_backend(settings())
    weights = Path(b.settings.weights_dir).expanduser() / f"{b.settings.model}.onnx"
    assert weights.is_file(), f"{weights} missing: run `meshpipe weights fetch-default`"
    b.load()
    yield b
    b.unload()


def channels(rgba: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    pixels = np.asarray(rgba, dtype=np.float32) / 255.0
    return pixels[..., :3], pixels[..., 3]


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    rows, cols = np.nonzero(mask)
    return (cols.min(), rows.min(), cols.max() + 1.0, rows.max() + 1.0)


@dataclass(frozen=True)
class Matted:
    scene: Scene
    result: MatteResult
    raw_alpha: np.ndarray  # the model's own matte, before post-processing


@pytest.fixture(scope="module", params=sorted(SCENES))
def matted(request: pytest.FixtureRequest, backend: MattingBackend) -> Matted:
    scene = matting_crop(*SCENES[request.param])
    image = Image.fromarray(scene.image)
    return Matted(scene, backend.matte(image), backend.predict_alpha(image))


def test_matte_iou_on_textured_background(matted: Matted) -> None:
    scene, result = matted.scene, matted.result
    _, alpha = channels(result.rgba)
    assert result.rgba.size == (scene.image.shape[1], scene.image.shape[0])
    assert result.rgba.mode == "RGBA"
    iou = mask_iou(alpha >= 0.5, scene.mask)
    assert iou >= 0.95
    raw_iou = mask_iou(matted.raw_alpha >= 0.5, scene.mask)
    assert iou > raw_iou, "edge refinement must improve on the model's own matte"
    assert result.foreground_fraction == pytest.approx(float((alpha >= 0.5).mean()), abs=1e-6)


def test_colours_under_the_matte_are_the_objects(matted: Matted) -> None:
    scene = matted.scene
    colours, alpha = channels(matted.result.rgba)
    observed = scene.image.astype(np.float32) / 255.0
    under = (scene.alpha >= 0.5) & (alpha >= 0.5)
    assert np.abs(colours - scene.foreground)[under].mean() < 0.01
    edge = (scene.alpha > 0.02) & (scene.alpha < 0.98) & (alpha >= 0.5)
    assert edge.sum() > 500
    refined_error = np.abs(colours - scene.foreground)[edge].mean()
    observed_error = np.abs(observed - scene.foreground)[edge].mean()
    assert refined_error < 0.8 * observed_error  # background bleeding removed at the edge
    assert refined_error < 0.06


def test_coffee_photo_mattes_the_cup_and_saucer(backend: MattingBackend) -> None:
    result = backend.matte(Image.fromarray(photo_uint8("coffee")))
    _, alpha = channels(result.rgba)
    assert 0.35 <= result.foreground_fraction <= 0.6
    assert box_iou(mask_box(alpha >= 0.5), COFFEE_CUP_AND_SAUCER) >= 0.85
    assert alpha[150, 290] > 0.9  # the coffee
    assert alpha[380, 20] < 0.1 and alpha[20, 580] < 0.1  # the table


def test_chelsea_photo_mattes_the_cat(backend: MattingBackend) -> None:
    result = backend.matte(Image.fromarray(photo_uint8("chelsea")))
    _, alpha = channels(result.rgba)
    assert 0.5 <= result.foreground_fraction <= 0.85
    assert alpha[115, 170] > 0.9 and alpha[135, 320] > 0.9 and alpha[240, 260] > 0.9
    assert alpha[150:250, 430:].mean() < 0.1  # the background right of the cat


def test_astronaut_photo_mattes_the_person(backend: MattingBackend) -> None:
    result = backend.matte(Image.fromarray(photo_uint8("astronaut")))
    _, alpha = channels(result.rgba)
    assert 0.4 <= result.foreground_fraction <= 0.7
    assert alpha[120, 220] > 0.9 and alpha[380, 100] > 0.9  # face, suit
    assert alpha[100:200, 480:].mean() < 0.1  # the backdrop right of the shuttle model


def test_max_side_processes_downscaled_and_returns_the_crop_size() -> None:
    small = build_backend(settings(max_side=240))
    small.load()
    scene = matting_crop(*SCENES["coffee-on-grass"])
    result = small.matte(Image.fromarray(scene.image))
    colours, alpha = channels(result.rgba)
    assert alpha.shape == scene.mask.shape
    assert mask_iou(alpha >= 0.5, scene.mask) >= 0.93
    under = (scene.alpha >= 0.5) & (alpha >= 0.5)  # full-resolution colours, not upsampled
    assert np.abs(colours - scene.foreground)[under].mean() < 0.01


def test_missing_weights_name_the_file(tmp_path: Path) -> None:
    b = build_backend(settings(weights_dir=str(tmp_path)))
    with pytest.raises(FailedPrecondition, match=str(tmp_path / "u2netp.onnx")):
        b.load()


def test_tiny_crop_is_invalid_input(backend: MattingBackend) -> None:
    with pytest.raises(InvalidInput, match="too small"):
        backend.matte(Image.new("RGB", (5, 40)))


def test_unknown_backend_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="no-such"):
        build_backend(settings(backend="no-such"))
