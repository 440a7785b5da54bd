"""The embedded detector on scenes with known boxes, on real photos, and its notices."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from meshpipe.errors import FailedPrecondition, InvalidInput
from services.detector.backends import NO_OBJECTS_NOTICE, DetectorBackend, build_backend
from services.detector.boxes import Box
from services.detector.options import DetectOptions
from services.detector.settings import DetectorSettings
from tests.unit.scenes.library import three_objects
from tests.unit.scenes.textures import photo_uint8

DEFAULT = DetectOptions(max_objects=10, min_area_fraction=0.01, nms_iou=0.5)

# Hand-labelled boxes of the main object of scikit-image's photos (x1, y1, x2, y2).
COFFEE_CUP_AND_SAUCER = Box(75, 17, 480, 388)
CHELSEA_CAT = Box(0, 0, 390, 300)
CHELSEA_FACE_POINTS = ((170, 115), (320, 135), (260, 240))  # both eyes, the nose
ASTRONAUT_PERSON = Box(20, 15, 365, 512)
ASTRONAUT_FACE = Box(180, 70, 270, 190)


@pytest.fixture(scope="module")
def backend() -> Iterator[DetectorBackend]:
    b = build_backend(DetectorSettings.model_validate({}))
    b.load()
    yield b
    b.unload()


def contains(outer: Box, inner: Box, slack: float = 0.0) -> bool:
    return (
        outer.x1 <= inner.x1 + slack
        and outer.y1 <= inner.y1 + slack
        and outer.x2 >= inner.x2 - slack
        and outer.y2 >= inner.y2 - slack
    )


@pytest.mark.parametrize("seed", range(6))
def test_finds_three_of_three_separated_objects_with_tight_boxes(
    backend: DetectorBackend, seed: int
) -> None:
    scene = three_objects(seed)
    result = backend.detect(Image.fromarray(scene.image), "", DEFAULT)
    assert len(result.detections) == 3, [d.box for d in result.detections]
    for truth in scene.boxes:
        best = max(d.box.iou(Box(*truth)) for d in result.detections)
        assert best >= 0.8, (truth, [d.box for d in result.detections])
    assert all(d.label == "object" and 0.0 < d.score <= 1.0 for d in result.detections)
    scores = [d.score for d in result.detections]
    assert scores == sorted(scores, reverse=True)
    assert result.notices == [] and result.category_filtering_applied is False


def test_max_objects_keeps_the_best_scored(backend: DetectorBackend) -> None:
    image = Image.fromarray(three_objects(1).image)
    every = backend.detect(image, "", DEFAULT).detections
    two = backend.detect(image, "", DetectOptions(2, 0.01, 0.5)).detections
    assert two == every[:2]


def test_min_area_fraction_drops_small_objects(backend: DetectorBackend) -> None:
    scene = three_objects(2)
    areas = sorted((Box(*b).area for b in scene.boxes), reverse=True)
    image_area = scene.image.shape[0] * scene.image.shape[1]
    between = (areas[1] + areas[2]) / 2 / image_area  # keeps the two larger objects only
    kept = backend.detect(Image.fromarray(scene.image), "", DetectOptions(10, between, 0.5))
    assert len(kept.detections) == 2
    assert min(d.box.area for d in kept.detections) > areas[2]


def test_coffee_photo_gives_the_cup(backend: DetectorBackend) -> None:
    result = backend.detect(Image.fromarray(photo_uint8("coffee")), "", DEFAULT)
    top = result.detections[0].box
    assert top.iou(COFFEE_CUP_AND_SAUCER) >= 0.85, top


def test_chelsea_photo_gives_the_cat(backend: DetectorBackend) -> None:
    result = backend.detect(Image.fromarray(photo_uint8("chelsea")), "", DEFAULT)
    top = result.detections[0].box
    assert top.iou(CHELSEA_CAT) >= 0.6, top
    assert all(top.x1 <= x < top.x2 and top.y1 <= y < top.y2 for x, y in CHELSEA_FACE_POINTS)


def test_astronaut_photo_gives_the_person(backend: DetectorBackend) -> None:
    result = backend.detect(Image.fromarray(photo_uint8("astronaut")), "", DEFAULT)
    top = result.detections[0].box
    # The box holds the person; it also holds the helmet she carries (touching her).
    assert contains(top, ASTRONAUT_PERSON, slack=20), top
    assert contains(top, ASTRONAUT_FACE)
    assert top.iou(ASTRONAUT_PERSON) >= 0.6, top


def test_a_prompt_is_reported_as_not_applied(backend: DetectorBackend) -> None:
    image = Image.fromarray(three_objects(0).image)
    plain = backend.detect(image, "", DEFAULT)
    prompted = backend.detect(image, "mug, lamp", DEFAULT)
    assert prompted.category_filtering_applied is False
    assert any("Qwen3-VL" in n and "mug, lamp" in n for n in prompted.notices)
    assert prompted.detections == plain.detections  # same objects, unfiltered
    assert all(d.label == "object" for d in prompted.detections)


def test_an_empty_scene_gives_no_objects_and_a_notice(backend: DetectorBackend) -> None:
    rng = np.random.default_rng(0)
    wall = np.clip(200 + rng.normal(0, 3, (240, 320, 3)), 0, 255).astype(np.uint8)
    result = backend.detect(Image.fromarray(wall), "", DEFAULT)
    assert result.detections == []
    assert any(NO_OBJECTS_NOTICE in n for n in result.notices)


def test_refuses_to_run_unloaded() -> None:
    cold = build_backend(DetectorSettings.model_validate({}))
    with pytest.raises(FailedPrecondition):
        cold.detect(Image.new("RGB", (32, 32)), "", DEFAULT)


def test_unknown_backend_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="no-such"):
        build_backend(DetectorSettings.model_validate({"backend": "no-such"}))


def test_a_tiny_image_is_invalid_input(backend: DetectorBackend) -> None:
    with pytest.raises(InvalidInput, match="too small"):
        backend.detect(Image.new("RGB", (4, 300)), "", DEFAULT)
