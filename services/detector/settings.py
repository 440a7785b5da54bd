"""Settings of the detector stage (env prefix MESHPIPE_DETECTOR_)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from meshpipe import catalogue
from meshpipe.options import MAX_OBJECTS, MIN_AREA_FRACTION, NMS_IOU
from meshpipe.runtime.settings import StageSettings

_STAGE = catalogue.stage("detector")


class DetectorSettings(StageSettings):
    """Detector stage settings; the request knobs default to these."""

    model_config = SettingsConfigDict(env_prefix=_STAGE.env_prefix, extra="ignore")

    port: int = Field(
        _STAGE.grpc_port, ge=0, le=65535, description="gRPC port; 0 picks a free port."
    )
    metrics_port: int = Field(
        _STAGE.metrics_port, ge=-1, le=65535, description="/metrics port; 0 free, -1 off."
    )
    max_objects: int = Field(
        MAX_OBJECTS.fallback,
        ge=MAX_OBJECTS.low,
        le=MAX_OBJECTS.high,
        description="Objects returned when a request says 0.",
    )
    min_area_fraction: float = Field(
        MIN_AREA_FRACTION.fallback,
        gt=MIN_AREA_FRACTION.low,
        lt=MIN_AREA_FRACTION.high,
        description="Smallest box (fraction of the image) when a request says 0.",
    )
    nms_iou: float = Field(
        NMS_IOU.fallback,
        gt=NMS_IOU.low,
        le=NMS_IOU.high,
        description="NMS overlap threshold when a request says 0.",
    )
    saliency_side: int = Field(
        256,
        ge=64,
        le=1024,
        description="Longest side, pixels, at which the embedded backend computes saliency.",
    )

    # --- production backend "qwen-vl" (services/detector/backends/qwen_vl.py)
    qwen_model: str = Field(
        "Qwen/Qwen3-VL-2B-Instruct",
        description="Qwen-VL model: a hub id looked up in models_dir (Qwen3-VL 2B/4B/8B "
        "Instruct) or a folder path.",
    )
    models_dir: str = Field(
        "~/.cache/huggingface/hub",
        description="Where model folders live: Hugging Face cache layout or <models_dir>/<org>/<name>.",
    )
    dtype: str = Field(
        "auto", description="auto (bf16 on CUDA, fp32 on CPU), bfloat16, float16, float32."
    )
    min_pixels: int = Field(
        64 * 32 * 32, ge=32 * 32, description="Smallest image area the model sees, pixels."
    )
    max_pixels: int = Field(
        1024 * 32 * 32,
        ge=32 * 32,
        description="Largest image area the model sees, pixels (bounds vision tokens and memory).",
    )
    max_new_tokens: int = Field(
        1024, ge=16, le=8192, description="Longest answer generated (about 25 tokens per box)."
    )
    coordinates: Literal["relative", "absolute"] = Field(
        "relative",
        description="Coordinates the model answers in: relative 0-1000 (Qwen3-VL) or absolute "
        "pixels of its input (Qwen2.5-VL).",
    )
    on_absolute: Literal["reject", "convert"] = Field(
        "reject",
        description="In relative mode, what to do with an answer outside 0-1000 (absolute "
        "pixels): reject it, or convert it as absolute pixels.",
    )
