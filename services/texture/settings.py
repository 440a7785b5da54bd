"""Settings of the texture stage (env prefix MESHPIPE_TEXTURE_)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from meshpipe import catalogue
from meshpipe.options import TEXTURE_SIZE
from meshpipe.runtime.settings import StageSettings
from services.texture.paint.settings import PaintSettings

_STAGE = catalogue.stage("texture")


class TextureSettings(StageSettings):
    """Texture stage settings."""

    model_config = SettingsConfigDict(
        env_prefix=_STAGE.env_prefix, env_nested_delimiter="__", extra="ignore"
    )

    port: int = Field(
        _STAGE.grpc_port, ge=0, le=65535, description="gRPC port; 0 picks a free port."
    )
    metrics_port: int = Field(
        _STAGE.metrics_port, ge=-1, le=65535, description="/metrics port; 0 free, -1 off."
    )
    texture_size: int = Field(
        TEXTURE_SIZE.fallback, ge=16, le=16384, description="Default texture side, pixels."
    )
    min_texture_size: int = Field(
        TEXTURE_SIZE.low, ge=16, description="Smallest texture side a request may ask for."
    )
    max_texture_size: int = Field(
        TEXTURE_SIZE.high,
        ge=16,
        le=16384,
        description="Largest texture side a request may ask for.",
    )
    max_faces: int = Field(
        500_000, ge=1, description="Meshes with more triangles are refused (INVALID_ARGUMENT)."
    )
    uv_charts: Literal["auto", "xatlas", "front-back"] = Field(
        "auto",
        description="Embedded backend: 'xatlas' lets xatlas cut and pack charts (any mesh; "
        "seconds per 10k faces on 2 cores); 'front-back' packs the front- and back-facing "
        "halves as planar charts (fast; exact for the front-projection bake, and overlap-free "
        "for the embedded shape's height-field meshes); 'auto' picks 'front-back' for meshes "
        "that carry the front-view record and 'xatlas' for others.",
    )
    uv_padding: int = Field(
        2, ge=0, le=16, description="Embedded backend: texels kept free between UV charts."
    )

    paint: PaintSettings = Field(
        default_factory=PaintSettings,
        description="Hunyuan3D-Paint backend knobs (env MESHPIPE_TEXTURE_PAINT__<FIELD>, "
        "e.g. MESHPIPE_TEXTURE_PAINT__MODELS_DIR); see docs/texture_paint.md.",
    )

    @model_validator(mode="after")
    def _check_size_range(self) -> TextureSettings:
        lo, hi = self.min_texture_size, self.max_texture_size
        if not lo <= self.texture_size <= hi:
            raise ValueError(f"texture_size must lie in [{lo}, {hi}]")
        return self
