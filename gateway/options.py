"""Job options as the HTTP API takes them (JSON body or multipart form fields), and their
translation into the orchestrator's SubmitJobRequest. Ranges are the orchestrator's to
check (its INVALID_ARGUMENT becomes 422); here only types and obvious bounds."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.problems import ApiProblem
from meshpipe.v1 import orchestrator_pb2 as pb

FORMATS = ("obj", "stl", "ply", "usdz")


class JobFields(BaseModel):
    """The options of a job (every field optional; 0 / empty = the server's default)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(default="", description='Comma-separated categories ("mug, lamp").')
    name: str = Field(default="", description="Label stored with the job (e.g. the file name).")
    texture: bool = Field(default=True, description="Run the texture stage.")
    remove_background: bool = Field(default=True, description="Run the matting stage.")
    seed: int | None = Field(default=None, ge=0, lt=2**64, description="Seed; unset = random.")
    max_objects: int = Field(default=0, ge=0, description="Process at most N objects.")
    quality: Literal["", "draft", "standard", "high"] = Field(default="", description="Profile.")
    steps: int = Field(default=0, ge=0, description="Shape diffusion steps.")
    octree_resolution: int = Field(default=0, ge=0, description="Shape grid resolution.")
    guidance_scale: float = Field(default=0.0, ge=0, description="Shape guidance scale.")
    texture_size: int = Field(default=0, ge=0, description="Texture side, pixels.")
    min_area_fraction: float = Field(default=0.0, ge=0, description="Detector: smallest box.")
    nms_iou: float = Field(default=0.0, ge=0, description="Detector: NMS IoU threshold.")
    crop_padding: float = Field(default=0.0, ge=0, description="Padding around each box.")
    formats: list[str] = Field(
        default_factory=list, description="Extra formats: obj, stl, ply, usdz."
    )
    target_faces: int = Field(default=0, ge=0, description="Decimate to about N triangles.")
    time_limit_seconds: float = Field(default=0.0, ge=0, description="Job wall-clock limit.")
    memory_profile: int | None = Field(
        default=None,
        ge=1,
        le=5,
        description="Memory profile 1-5 (a stage setting of the deployment; reported, see docs).",
    )

    @field_validator("formats", mode="before")
    @classmethod
    def _split_formats(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [f.strip().lower() for item in value for f in str(item).split(",") if f.strip()]
        return value


class JsonJob(JobFields):
    """POST /v1/jobs with a JSON body."""

    image_base64: str = Field(description="The photo (PNG, JPEG or WebP), base64.")


def job_options(fields: JobFields) -> pb.JobOptions:
    """JobOptions from the HTTP fields."""
    options = pb.JobOptions(
        texture=fields.texture,
        remove_background=fields.remove_background,
        max_objects=fields.max_objects,
        quality=fields.quality,
        shape=pb.ShapeOptions(
            steps=fields.steps,
            octree_resolution=fields.octree_resolution,
            guidance_scale=fields.guidance_scale,
        ),
        texture_options=pb.TextureOptions(texture_size=fields.texture_size),
        detector=pb.DetectorOptions(
            min_area_fraction=fields.min_area_fraction,
            nms_iou=fields.nms_iou,
            crop_padding=fields.crop_padding,
        ),
        formats=fields.formats,
        target_faces=fields.target_faces,
        time_limit_seconds=fields.time_limit_seconds,
    )
    if fields.seed is not None:
        options.seed = fields.seed
    return options


def submit_request(image: bytes, fields: JobFields, request_id: str = "") -> pb.SubmitJobRequest:
    """The SubmitJobRequest of an HTTP submission."""
    return pb.SubmitJobRequest(
        image=image,
        prompt=fields.prompt,
        name=fields.name,
        options=job_options(fields),
        request_id=request_id,
    )


def decode_base64(text: str, limit: int, field: str = "image_base64") -> bytes:
    """Base64 (a `data:...;base64,` prefix allowed) -> bytes; 400 if not base64, 413 if the
    decoded photo is over `limit` bytes (checked on the text's length first)."""
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    if len(text) * 3 // 4 > limit + 3:
        raise ApiProblem(413, f"{field}: the photo is over the {limit}-byte limit")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiProblem(400, f"{field}: not valid base64") from None
    if not data:
        raise ApiProblem(400, f"{field}: empty")
    if len(data) > limit:
        raise ApiProblem(413, f"{field}: the photo is over the {limit}-byte limit")
    return data
