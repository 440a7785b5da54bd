"""Settings of the matting stage (env prefix MESHPIPE_MATTING_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from meshpipe import catalogue
from meshpipe.runtime.settings import StageSettings

_STAGE = catalogue.stage("matting")


class MattingSettings(StageSettings):
    """Matting stage settings."""

    model_config = SettingsConfigDict(env_prefix=_STAGE.env_prefix, extra="ignore")

    port: int = Field(
        _STAGE.grpc_port, ge=0, le=65535, description="gRPC port; 0 picks a free port."
    )
    metrics_port: int = Field(
        _STAGE.metrics_port, ge=-1, le=65535, description="/metrics port; 0 free, -1 off."
    )
    model: str = Field(
        "u2netp", description="rembg model name (u2netp, u2net, isnet-general-use, ...)."
    )
    weights_dir: str = Field(
        "~/.u2net",
        description="Folder holding <model>.onnx (rembg's U2NET_HOME); never downloaded.",
    )
    refine_edges: bool = Field(
        True,
        description="Snap the matte's edges to the image (colour guided filter at the "
        "processing resolution; the model itself sees a small fixed size).",
    )
    min_component_fraction: float = Field(
        0.02,
        ge=0,
        lt=1,
        description="Drop parts of the matte not connected to a component at least this "
        "fraction of the largest one (specks, haze); 0 keeps everything.",
    )
    refine_foreground: bool = Field(
        True,
        description="Re-estimate foreground colours under the matte (removes background halo).",
    )
    max_side: int = Field(
        1024,
        ge=0,
        description="Longest side, pixels, at which the model runs and the matte and colours "
        "are refined (bounds the cost); larger crops are processed downscaled, then the matte "
        "is interpolated and the colour correction applied to the full-size crop. 0 = no limit.",
    )
    onnx_cpu_arena: bool = Field(
        True,
        description="onnxruntime's CPU memory arena for the U^2-Net session: on, u2netp keeps "
        "~630 MiB resident and runs ~20 % less CPU time per crop; off, ~185 MiB.",
    )

    custom_model: str = Field(
        "",
        description="rembg custom sessions (model u2net_custom, dis_custom, ben_custom): the "
        ".onnx file, relative to weights_dir (rembg only loads custom files from there).",
    )
    # --- production backend "birefnet" (services/matting/backends/birefnet.py)
    birefnet_model: str = Field(
        "ZhengPeng7/BiRefNet",
        description="BiRefNet model: a hub id looked up in models_dir, or a folder path; the "
        "folder's own code is run (trust_remote_code), never fetched.",
    )
    models_dir: str = Field(
        "~/.cache/huggingface/hub",
        description="Where model folders live: Hugging Face cache layout or "
        "<models_dir>/<org>/<name>.",
    )
    dtype: str = Field(
        "auto", description="auto (fp16 on CUDA, fp32 on CPU), float16, bfloat16, float32."
    )
    birefnet_resolution: int = Field(
        1024, ge=64, le=2048, multiple_of=32, description="Side of BiRefNet's square input, pixels."
    )
