"""Paint profiles, the footprint estimate, the cameras and the pipeline-call adapter."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from services.texture.paint.footprint import (
    GIB,
    MEASURED_MARGIN,
    estimate_bytes,
    measured_bytes,
)
from services.texture.paint.pipeline_call import PipelineCall
from services.texture.paint.settings import (
    PaintSettings,
    apply_paint_profile,
    from_stage_settings,
    profile_name,
)
from services.texture.paint.views import VIEW_SETS
from services.texture.settings import TextureSettings


def test_profile_fills_only_unset_knobs() -> None:
    explicit = PaintSettings.model_validate({"views": 6, "render_size": 512})
    low = apply_paint_profile(explicit, "low")
    assert (low.views, low.render_size) == (6, 512)  # the operator's choice stands
    assert (low.texture_size, low.offload, low.one_model_at_a_time) == (1024, "model", True)
    assert apply_paint_profile(explicit, None) == explicit


def test_profile_name_resolution() -> None:
    assert profile_name(PaintSettings.model_validate({"memory_profile": "3"}), 0) == "medium"
    follows = PaintSettings.model_validate({"memory_profile": "low", "paint_profile": "high"})
    assert profile_name(follows, 0) == "high"
    auto = PaintSettings.model_validate({"memory_profile": "auto"})
    assert profile_name(auto, 0) is None  # no GPU: upstream defaults
    assert profile_name(auto, 12 * GIB) == "medium"
    assert profile_name(PaintSettings.model_validate({"paint_profile": "none"}), 80 * GIB) is None
    with pytest.raises(ValueError, match="unknown memory profile"):
        profile_name(PaintSettings.model_validate({"paint_profile": "huge"}), 0)


def test_from_stage_settings_carries_process_knobs() -> None:
    stage = TextureSettings.model_validate(
        {"device": "cpu", "memory_profile": "low", "texture_size": 512}
    )
    paint = from_stage_settings(stage)
    assert (paint.device, paint.memory_profile, paint.texture_size) == ("cpu", "low", 512)
    assert apply_paint_profile(paint, "low").texture_size == 512  # explicit at the stage
    default = from_stage_settings(TextureSettings.model_validate({}))
    assert apply_paint_profile(default, "high").texture_size == 2048  # stage default not forced


def test_footprint_follows_the_settings() -> None:
    def gib(name: str, **kw: Any) -> float:
        settings = apply_paint_profile(PaintSettings.model_validate(kw), name)
        return estimate_bytes(settings, element_size=2) / GIB

    # Unmeasured configurations follow the model: fewer views / smaller sizes need less.
    assert gib("medium", views=4) < gib("medium", views=6)
    assert gib("medium", render_size=1024, texture_size=1024) < gib("medium")
    assert gib("minimal") < gib("medium") < 24
    real = {"delight": 2 * GIB, "multiview": 4 * GIB}
    medium = apply_paint_profile(PaintSettings(), "medium")
    assert estimate_bytes(medium, 2, real) < estimate_bytes(
        medium, 2, {k: 2 * v for k, v in real.items()}
    )


def test_measured_configurations_use_the_gpu_measurement() -> None:
    high = apply_paint_profile(PaintSettings(), "high")
    expected = 11.88 * GIB * MEASURED_MARGIN  # the CUDA context is the arbiter's to add
    assert estimate_bytes(high, 2) == int(expected)
    assert estimate_bytes(
        apply_paint_profile(PaintSettings(), "high").model_copy(update={"views": 4}), 2
    ) < estimate_bytes(high, 2)
    assert measured_bytes(high, 4) is None, "fp32 was not measured: the model applies"
    assert measured_bytes(apply_paint_profile(PaintSettings(), "minimal"), 2) is None


def test_camera_ids_match_upstream() -> None:
    # hy3dgen's default six cameras give these ids in Hunyuan3DPaintPipeline.__call__.
    assert VIEW_SETS[6].camera_info() == [21, 12, 15, 18, 43, 37]
    assert VIEW_SETS[4].camera_info() == [21, 12, 15, 18]
    assert all(len(v.elevs) == len(v.azims) == len(v.weights) == n for n, v in VIEW_SETS.items())


class FakePipeline:
    """Records the call; returns images of the requested size."""

    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}
        self._execution_device = torch.device("cpu")
        self.vae = SimpleNamespace(dtype=torch.float64)
        self.device = "cpu"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.kwargs = kwargs
        side = kwargs.get("width", 8)
        return SimpleNamespace(images=[Image.new("RGB", (side, side))])


def test_pipeline_call_overrides_steps_seed_size_and_maps() -> None:
    fake = FakePipeline()
    call = PipelineCall(fake, steps=7, size=64)
    call.seed = 11
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # fully transparent red -> white
    out = call(
        image=Image.new("RGB", (512, 512)),
        width=512,
        height=512,
        num_inference_steps=50,
        normal_imgs=[[rgba, rgba]],
    )
    assert fake.kwargs["num_inference_steps"] == 7
    assert fake.kwargs["width"] == fake.kwargs["height"] == 64
    assert fake.kwargs["image"].size == (64, 64)
    assert out.images[0].size == (512, 512)  # back to what hy3dgen asked for
    assert torch.equal(
        fake.kwargs["generator"].get_state(), torch.Generator().manual_seed(11).get_state()
    )
    maps = fake.kwargs["normal_imgs"]
    assert maps.shape == (1, 2, 3, 4, 4) and maps.dtype == torch.float64
    np.testing.assert_allclose(maps.numpy(), 1.0)
    assert call.device == "cpu"  # attribute reads fall through
