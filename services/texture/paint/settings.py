"""Knobs of the Hunyuan3D-Paint backend and its named low-VRAM profiles.

`PaintSettings` holds every knob with upstream's values as defaults. A profile (named as
the memory profiles of `meshpipe.profiles`: high, balanced, medium, low, minimal, or 1-5)
fills the knobs the operator did not set; `paint_profile` picks one explicitly, otherwise
the stage's `memory_profile` does ("auto": from the GPU's size).

The texture stage's settings hold them as a nested `paint` field (env
MESHPIPE_TEXTURE_PAINT__<FIELD>); `from_stage_settings` also carries over the stage's
device, memory profile and an explicitly set texture size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from meshpipe.profiles import profile_for_vram, profile_named

Offload = Literal["none", "model", "sequential"]

# Profile name -> knobs. Sizes are render / texture sides; views 6 = upstream's six cameras.
PAINT_PROFILES: Mapping[str, Mapping[str, Any]] = {
    "high": {
        "views": 6,
        "render_size": 2048,
        "texture_size": 2048,
        "one_model_at_a_time": False,
        "offload": "none",
        "vae_slicing": False,
        "vae_tiling": False,
        "attention_slicing": False,
    },
    "balanced": {
        "views": 6,
        "render_size": 2048,
        "texture_size": 2048,
        "one_model_at_a_time": True,
        "offload": "none",
        "vae_slicing": True,
        "vae_tiling": False,
        "attention_slicing": False,
    },
    "medium": {
        "views": 6,
        "render_size": 1536,
        "texture_size": 1536,
        "one_model_at_a_time": True,
        "offload": "none",
        "vae_slicing": True,
        "vae_tiling": True,
        "attention_slicing": False,
    },
    "low": {
        "views": 4,
        "render_size": 1024,
        "texture_size": 1024,
        "one_model_at_a_time": True,
        "offload": "model",
        "vae_slicing": True,
        "vae_tiling": True,
        "attention_slicing": True,
    },
    "minimal": {
        "views": 3,
        "render_size": 1024,
        "texture_size": 1024,
        "one_model_at_a_time": True,
        "offload": "sequential",
        "vae_slicing": True,
        "vae_tiling": True,
        "attention_slicing": True,
    },
}


class PaintSettings(BaseModel):
    """Hunyuan3D-Paint backend settings (defaults: upstream hy3dgen 2.0.2 behaviour)."""

    device: str = Field(default="auto", description="'auto', 'cpu' or 'cuda[:N]'.")
    memory_profile: str = Field(
        default="auto",
        description="Stage memory profile; names the paint profile unless paint_profile does.",
    )
    paint_profile: str = Field(
        default="",
        description="Paint profile (high, balanced, medium, low, minimal or 1-5); '' follows "
        "memory_profile, 'none' keeps the knobs as given.",
    )
    models_dir: str = Field(
        default="~/.cache/hy3dgen",
        description="hy3dgen's HY3DGEN_MODELS: <models_dir>/<paint_repo>/<subfolder>/...",
    )
    paint_repo: str = Field(
        default="tencent/Hunyuan3D-2", description="Repository holding both models."
    )
    delight_subfolder: str = Field(
        default="hunyuan3d-delight-v2-0", description="Delight pipeline folder."
    )
    multiview_subfolder: str = Field(
        default="hunyuan3d-paint-v2-0", description="Multiview diffusion pipeline folder."
    )
    dtype: str = Field(
        default="auto", description="auto (fp16 on CUDA, fp32 on CPU), float16, float32."
    )
    views: int = Field(default=6, description="Cameras painted by the multiview model: 6, 4 or 3.")
    render_size: int = Field(
        default=2048, ge=64, le=4096, description="Side of normal/position renders."
    )
    texture_size: int = Field(
        default=2048, ge=64, le=8192, description="Default texture side, pixels."
    )
    one_model_at_a_time: bool = Field(
        default=False,
        description="Keep delight and multiview in host memory and move each to the GPU only for "
        "its step, releasing it before the next.",
    )
    offload: Offload = Field(
        default="none",
        description="diffusers CPU offload: 'model' (component by component) or 'sequential' "
        "(layer by layer); CUDA only.",
    )
    vae_slicing: bool = Field(
        default=False, description="Encode/decode one view at a time in the VAE."
    )
    vae_tiling: bool = Field(default=False, description="Tile the VAE over large images.")
    attention_slicing: bool = Field(default=False, description="Compute attention in slices.")
    delight_steps: int = Field(
        default=50, ge=1, le=200, description="Delight diffusion steps (upstream 50)."
    )
    multiview_steps: int = Field(
        default=30, ge=1, le=200, description="Multiview steps (upstream 30)."
    )
    delight_size: int = Field(default=512, ge=64, le=1024, description="Delight model resolution.")
    view_size: int = Field(
        default=512, ge=64, le=1024, description="Multiview model resolution per view."
    )
    rasterizer: Literal["auto", "torch", "extension"] = Field(
        default="auto",
        description="auto: hy3dgen's compiled custom_rasterizer when installed, else the "
        "pure-PyTorch one; torch / extension force one.",
    )

    @field_validator("views", mode="before")
    @classmethod
    def _views_from_env(cls, value: object) -> int:
        """Accept "4" from the environment; only the camera sets that exist (6, 4, 3)."""
        views = int(value) if isinstance(value, str | int) else -1
        if views not in (6, 4, 3):
            raise ValueError(f"views must be 6, 4 or 3, got {value!r}")
        return views


_FROM_STAGE_IF_SET = ("texture_size",)


def from_stage_settings(stage: BaseModel) -> PaintSettings:
    """PaintSettings for the texture stage's settings object.

    The stage's nested `paint` settings (PaintSettings) when it has them, else defaults;
    the process-wide `device` and `memory_profile`, and an explicitly set `texture_size`,
    come from the stage itself.
    """
    nested = getattr(stage, "paint", None)
    base = nested if isinstance(nested, PaintSettings) else PaintSettings()
    explicit = set(base.model_fields_set)
    updates = {
        name: getattr(stage, name) for name in ("device", "memory_profile") if hasattr(stage, name)
    }
    for name in _FROM_STAGE_IF_SET:
        if name in stage.model_fields_set:
            updates[name] = getattr(stage, name)
            explicit.add(name)
    settings = base.model_copy(update=updates)
    settings.__pydantic_fields_set__ = explicit
    return settings


def profile_name(settings: PaintSettings, total_vram_bytes: int) -> str | None:
    """The paint profile in force: paint_profile, else memory_profile ('auto' by GPU size)."""
    name = (settings.paint_profile or settings.memory_profile).strip().lower()
    if name in ("", "none", "off"):
        return None
    if name == "auto":
        return profile_for_vram(total_vram_bytes).name if total_vram_bytes else None
    if name in PAINT_PROFILES:
        return name
    return profile_named(name).name  # numbers 1-5; ValueError for unknown names


def apply_paint_profile(settings: PaintSettings, name: str | None) -> PaintSettings:
    """A copy with the profile's knobs where the operator set none."""
    if name is None:
        return settings
    knobs = PAINT_PROFILES[name]
    updates = {k: v for k, v in knobs.items() if k not in settings.model_fields_set}
    return settings.model_copy(update=updates)
