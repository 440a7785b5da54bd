"""Settings of the matting stage (env prefix MESHPIPE_MATTING_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from meshpipe.runtime.settings import StageSettings


class MattingSettings(StageSettings):
    """Matting stage settings."""

    model_config = SettingsConfigDict(env_prefix="MESHPIPE_MATTING_", extra="ignore")

    port: int = Field(50062, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(9102, ge=-1, le=65535, description="/metrics port; 0 free, -1 off.")
    model: str = Field(
        "u2netp", description="rembg model name (u2netp, u2net, isnet-general-use, ...)."
    )
    weights_dir: str = Field(
        "~/.u2net",
        description="Folder holding <model>.onnx (rembg's U2NET_HOME); never downloaded.",
    )
    refine_foreground: bool = Field(
        True,
        description="Re-estimate foreground colours under the matte (removes background halo).",
    )
