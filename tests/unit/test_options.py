"""One table of per-request knobs (meshpipe.options) for the orchestrator and the stages:
every value the orchestrator's API accepts, the stage's backends accept too (embedded and
production), and just outside the range both sides refuse."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from PIL import Image

from meshpipe.errors import InvalidInput
from meshpipe.options import KNOBS, Knob
from orchestrator.domain import JobOptions, JobRequest
from orchestrator.quality import QUALITY_PRESETS
from orchestrator.settings import Limits, OrchestratorSettings
from orchestrator.validation import validate_request
from services.detector.options import DetectOptions
from services.detector.settings import DetectorSettings
from services.shape.backends import ShapeRequest
from services.shape.backends.embedded import EmbeddedShapeBackend
from services.shape.settings import ShapeSettings
from services.texture.backends import TextureRequest
from services.texture.backends.embedded import EmbeddedTextureBackend
from services.texture.settings import TextureSettings

LIMITS = Limits(max_objects=100)
Resolver = Callable[[str, float], float]


def api_edges(knob: Knob[int] | Knob[float]) -> list[float]:
    """The extreme values the table lets through, and the default."""
    eps = 1e-6
    low = knob.low + eps if knob.low_open else knob.low
    high = knob.high - eps if knob.high_open else knob.high
    return [v for v in (low, high, knob.default) if v is not None]


def just_outside(knob: Knob[int] | Knob[float]) -> list[float]:
    """Values next to the range that the table refuses (never 0: 0 means the default)."""
    step = 1 if knob.integer else 1e-3
    below = knob.low if knob.low_open else knob.low - step
    return [v for v in (below, knob.high + step if not knob.high_open else knob.high) if v]


def _shape(backend_factory: Callable[[], object]) -> Resolver:
    def resolve(name: str, value: float) -> float:
        backend = backend_factory()
        knobs: dict[str, Any] = {name: value}
        request = replace(ShapeRequest(Image.new("RGBA", (8, 8))), **knobs)
        return float(getattr(backend.resolve(request), name))  # type: ignore[attr-defined]

    return resolve


def _hunyuan_shape() -> object:
    pytest.importorskip("torch")
    from services.shape.backends.hunyuan import HunyuanShapeBackend

    return HunyuanShapeBackend(ShapeSettings(backend="hunyuan3d", memory_profile="none"))


def _hunyuan_paint(name: str, value: float) -> float:
    pytest.importorskip("torch")
    from services.texture.backends.hunyuan_paint import HunyuanPaintBackend

    return HunyuanPaintBackend(TextureSettings()).texture_side(int(value))


def _detector(name: str, value: float) -> float:
    knobs = {"max_objects": 0, "min_area_fraction": 0.0, "nms_iou": 0.0, name: value}
    options = DetectOptions.resolve(
        int(knobs["max_objects"]), knobs["min_area_fraction"], knobs["nms_iou"], DetectorSettings()
    )
    return float(getattr(options, name))


def _crop_padding(name: str, value: float) -> float:
    return OrchestratorSettings(crop_padding=value).crop_padding


# Every backend (and the orchestrator, for its own knob) that consumes a knob of each stage.
CONSUMERS: dict[str, dict[str, Resolver]] = {
    "detector": {"servicer": _detector},
    "shape": {
        "embedded": _shape(lambda: EmbeddedShapeBackend(ShapeSettings())),
        "hunyuan3d": _shape(_hunyuan_shape),
    },
    "texture": {
        "embedded": lambda n, v: EmbeddedTextureBackend(TextureSettings()).texture_side(int(v)),
        "hunyuan-paint": _hunyuan_paint,
    },
    "orchestrator": {"settings": _crop_padding},
}
# Knobs a backend takes but does not use (the embedded shape has no diffusion).
UNUSED = {("shape", "embedded", "steps"), ("shape", "embedded", "guidance_scale")}

CASES = [
    pytest.param(knob, name, resolver, id=f"{knob.name}-{name}")
    for knob in KNOBS
    for name, resolver in CONSUMERS[knob.stage].items()
    if (knob.stage, name, knob.name) not in UNUSED
]


@pytest.mark.parametrize(("knob", "consumer", "resolve"), CASES)
def test_every_value_the_api_accepts_the_stage_accepts(
    knob: Knob[int] | Knob[float], consumer: str, resolve: Resolver
) -> None:
    for value in api_edges(knob):
        typed = int(value) if knob.integer else value
        validate_request(JobRequest(image=b"x", options=JobOptions(**{knob.name: typed})), LIMITS)
        assert math.isclose(resolve(knob.name, typed), typed), (knob.name, consumer, value)


# The orchestrator's own crop_padding setting may be 0 (no padding); the API's may not.
STAGE_CASES = [c for c in CASES if c.values[0].stage != "orchestrator"]  # type: ignore[union-attr]


@pytest.mark.parametrize(("knob", "consumer", "resolve"), STAGE_CASES)
def test_values_outside_the_table_are_refused_by_both_sides(
    knob: Knob[int] | Knob[float], consumer: str, resolve: Resolver
) -> None:
    for value in just_outside(knob):
        typed = int(value) if knob.integer else value
        with pytest.raises(InvalidInput, match=knob.name):
            validate_request(
                JobRequest(image=b"x", options=JobOptions(**{knob.name: typed})), LIMITS
            )
        with pytest.raises(InvalidInput, match=knob.name):
            resolve(knob.name, typed)


def test_zero_means_the_stage_default() -> None:
    shape = EmbeddedShapeBackend(ShapeSettings(octree_resolution=96))
    assert shape.resolve(ShapeRequest(Image.new("RGBA", (8, 8)))).octree_resolution == 96
    texture = EmbeddedTextureBackend(TextureSettings(texture_size=512))
    assert texture.texture_side(0) == 512
    assert DetectOptions.resolve(0, 0.0, 0.0, DetectorSettings()).max_objects == 10


@pytest.mark.parametrize("preset", sorted(QUALITY_PRESETS))
def test_quality_presets_lie_in_the_table(preset: str) -> None:
    options = JobOptions(**QUALITY_PRESETS[preset])
    validate_request(JobRequest(image=b"x", options=options), LIMITS)


def test_guidance_above_the_production_models_limit_is_refused_at_the_edge() -> None:
    with pytest.raises(InvalidInput, match=r"options.shape.guidance_scale=60.0 is out of range"):
        validate_request(JobRequest(image=b"x", options=JobOptions(guidance_scale=60.0)), LIMITS)


def test_a_request_is_resolved_once() -> None:
    shape = EmbeddedShapeBackend(ShapeSettings(octree_resolution=96))
    resolved = shape.resolve(ShapeRequest(Image.new("RGBA", (8, 8))))
    assert resolved.resolved and resolved.octree_resolution == 96
    assert shape.resolve(resolved) is resolved  # the backend's entry points do not redo it
    texture = EmbeddedTextureBackend(TextureSettings(texture_size=512))
    painted = texture.resolve(TextureRequest(b"glb", Image.new("RGBA", (8, 8))))
    assert painted.resolved and painted.texture_size == 512
    assert texture.resolve(painted) is painted
