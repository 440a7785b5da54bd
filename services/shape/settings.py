"""Settings of the shape stage (env prefix MESHPIPE_SHAPE_)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from meshpipe import catalogue
from meshpipe.options import GUIDANCE_SCALE, OCTREE_RESOLUTION, STEPS
from meshpipe.runtime.settings import StageSettings

_STAGE = catalogue.stage("shape")


class ShapeSettings(StageSettings):
    """Shape stage settings."""

    model_config = SettingsConfigDict(env_prefix=_STAGE.env_prefix, extra="ignore")

    port: int = Field(
        _STAGE.grpc_port, ge=0, le=65535, description="gRPC port; 0 picks a free port."
    )
    metrics_port: int = Field(
        _STAGE.metrics_port, ge=-1, le=65535, description="/metrics port; 0 free, -1 off."
    )
    max_batch: int = Field(
        8,
        ge=1,
        le=256,
        description="Most items one GenerateShapeBatch call may carry (keep it at least the "
        "orchestrator's batch_max_items).",
    )
    octree_resolution: int = Field(
        OCTREE_RESOLUTION.fallback,
        ge=16,
        le=1024,
        description="Default grid resolution along the mesh's longest axis.",
    )
    min_octree_resolution: int = Field(
        OCTREE_RESOLUTION.low, ge=8, description="Smallest grid resolution a request may ask for."
    )
    max_octree_resolution: int = Field(
        OCTREE_RESOLUTION.high,
        ge=16,
        le=1024,
        description="Largest grid resolution a request may ask for.",
    )
    inflation: float = Field(
        0.9,
        gt=0.0,
        le=2.0,
        description="Embedded backend: depth of each part relative to its width (1 = round "
        "cross-sections; a disc gets 0.71 x this x its diameter).",
    )
    smoothing_iterations: int = Field(
        5, ge=0, le=100, description="Embedded backend: Taubin smoothing passes (keep volume)."
    )
    max_faces: int = Field(
        40_000,
        ge=0,
        description="Decimate meshes with more triangles down to this count; 0 disables.",
    )
    min_component_fraction: float = Field(
        0.002,
        ge=0.0,
        lt=1.0,
        description="Embedded backend: drop matte islands smaller than this fraction of the "
        "foreground area (matting specks).",
    )

    # --- production backend "hunyuan3d" (services/shape/backends/hunyuan.py)
    hunyuan_variant: str = Field(
        "v2-mini",
        description="Hunyuan3D-2 DiT: v2-0, v2-0-fast, v2-0-turbo, v2-mini, v2-mini-fast, "
        "v2-mini-turbo.",
    )
    models_dir: str = Field(
        "~/.cache/hy3dgen",
        description="hy3dgen's HY3DGEN_MODELS: <models_dir>/<repo>/<subfolder>/config.yaml + weights.",
    )
    weights_variant: str = Field(
        "fp16", description="Checkpoint file model.<variant>.safetensors ('' = model.safetensors)."
    )
    dtype: str = Field(
        "auto", description="auto (fp16 on CUDA, fp32 on CPU), float16, bfloat16, float32."
    )
    steps: int = Field(
        0,
        ge=0,
        le=STEPS.high,
        description="Diffusion steps; 0 = the variant's default (30, turbo 5).",
    )
    guidance_scale: float = Field(
        GUIDANCE_SCALE.fallback,
        ge=0,
        le=GUIDANCE_SCALE.high,
        description="Classifier-free guidance scale.",
    )
    num_chunks: int = Field(
        20_000, ge=1000, description="Query points decoded per VAE chunk (memory vs speed)."
    )
    flashvdm: Literal["auto", "on", "off"] = Field(
        "auto", description="FlashVDM volume decoding (auto = on for turbo variants)."
    )
    offload: Literal["none", "model", "sequential"] = Field(
        "none",
        description="Keep components in host memory: 'model' moves each to the GPU for its turn, "
        "'sequential' also streams the DiT layer by layer.",
    )
    postprocess: bool = Field(
        True,
        description="Remove floaters and degenerate faces, then reduce to max_faces "
        "(hy3dgen's post-processing filters, run in memory).",
    )
    face_reducer: Literal["quadric", "fast"] = Field(
        "quadric",
        description="Face reduction after post-processing: quadric = pymeshlab's edge "
        "collapse with hy3dgen's own parameters (hy3dgen's result); fast = "
        "fast-simplification: the same surface in 3-9x less CPU time at octree 192-384 "
        "(benchmarks/results/shape_postprocess.md).",
    )

    @model_validator(mode="after")
    def _check_resolution_range(self) -> ShapeSettings:
        lo, hi = self.min_octree_resolution, self.max_octree_resolution
        if not lo <= self.octree_resolution <= hi:
            raise ValueError(f"octree_resolution must lie in [{lo}, {hi}]")
        return self
