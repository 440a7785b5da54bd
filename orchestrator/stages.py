"""gRPC clients of the four stages: deadlines, bounded retries of UNAVAILABLE once the stage is
healthy again, typed errors, and conversion of stage messages to domain values."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from meshpipe import catalogue
from meshpipe.errors import MeshpipeError, Unavailable, from_code, from_rpc_error
from meshpipe.runtime.process import grpc_options
from meshpipe.v1 import common_pb2, stage_pb2, stage_pb2_grpc
from orchestrator.domain import BackendRef, Box, Stage, StageReport
from orchestrator.metrics import OrchestratorMetrics
from orchestrator.sending import Sender
from orchestrator.settings import OrchestratorSettings

log = logging.getLogger(__name__)
R = TypeVar("R")

SERVICE_NAMES = {stage: catalogue.stage(stage.value).grpc_service for stage in Stage}


@dataclass(frozen=True)
class Found:
    """One box the detector returned."""

    label: str
    box: Box
    score: float


@dataclass(frozen=True)
class DetectOutput:
    """The detector's answer."""

    found: list[Found]
    category_filtering_applied: bool
    notices: list[str]
    report: StageReport


@dataclass(frozen=True)
class MatteOutput:
    """The matting stage's answer."""

    rgba_png: bytes
    foreground_fraction: float
    report: StageReport


@dataclass(frozen=True)
class ShapeOutput:
    """The shape stage's answer."""

    mesh_glb: bytes
    vertex_count: int
    face_count: int
    report: StageReport


@dataclass(frozen=True)
class TextureOutput:
    """The texture stage's answer."""

    textured_glb: bytes
    texture_size: int
    report: StageReport


def report_from_pb(report: common_pb2.StageReport) -> StageReport:
    """A stage's StageReport message as a domain value."""
    b = report.backend
    return StageReport(
        backend=BackendRef(backend=b.backend, weights=b.weights, device=b.device),
        inference_seconds=report.inference_seconds,
        load_wait_seconds=report.load_wait_seconds,
        step_seconds=dict(report.step_seconds),
        peak_device_bytes=report.peak_device_bytes,
    )


def _shape_output(r: stage_pb2.GenerateShapeResponse) -> ShapeOutput:
    return ShapeOutput(r.mesh_glb, r.vertex_count, r.face_count, report_from_pb(r.report))


def _status_code(name: str) -> grpc.StatusCode:
    """The status code named `name`; UNKNOWN for a name this client does not know."""
    return getattr(grpc.StatusCode, name, grpc.StatusCode.UNKNOWN)


def _box(b: common_pb2.Box) -> Box:
    return Box(x1=b.x1, y1=b.y1, x2=b.x2, y2=b.y2)


def detect_request(
    image: bytes, prompt: str, max_objects: int, min_area: float, nms_iou: float
) -> stage_pb2.DetectRequest:
    """The Detector.Detect request."""
    return stage_pb2.DetectRequest(
        image=image,
        prompt=prompt,
        max_objects=max_objects,
        min_area_fraction=min_area,
        nms_iou=nms_iou,
    )


def shape_request(
    rgba_png: bytes,
    seed: int,
    steps: int,
    octree_resolution: int,
    guidance: float,
    target_faces: int = 0,
) -> stage_pb2.GenerateShapeRequest:
    """The Shape.GenerateShape request (also one item of a GenerateShapeBatch)."""
    return stage_pb2.GenerateShapeRequest(
        rgba_png=rgba_png,
        seed=seed,
        steps=steps,
        octree_resolution=octree_resolution,
        guidance_scale=guidance,
        target_faces=target_faces,
    )


def texture_request(
    mesh_glb: bytes, rgba_png: bytes, texture_size: int, seed: int
) -> stage_pb2.PaintTextureRequest:
    """The Texture.PaintTexture request."""
    return stage_pb2.PaintTextureRequest(
        mesh_glb=mesh_glb, rgba_png=rgba_png, texture_size=texture_size, seed=seed
    )


class StageClients:
    """One channel per stage; each method is one inference call with retries."""

    def __init__(self, settings: OrchestratorSettings, metrics: OrchestratorMetrics) -> None:
        self._settings = settings
        self._metrics = metrics
        # round_robin: with a `dns:///stage:port` address over a headless Service, calls are
        # spread over every stage replica (pick_first would pin one pod).
        options = [
            *grpc_options(settings.max_message_bytes),
            ("grpc.lb_policy_name", "round_robin"),
        ]
        security = settings.client_security()
        self._channels = {
            stage: security.internal_channel(settings.endpoint(stage.value).address, options)
            for stage in Stage
        }
        ch = self._channels
        self._detector = stage_pb2_grpc.DetectorStub(ch[Stage.DETECTOR])
        self._matting = stage_pb2_grpc.MattingStub(ch[Stage.MATTING])
        self._shape = stage_pb2_grpc.ShapeStub(ch[Stage.SHAPE])
        self._texture = stage_pb2_grpc.TextureStub(ch[Stage.TEXTURE])
        self._health = {s: health_pb2_grpc.HealthStub(c) for s, c in ch.items()}
        self._admin = {s: stage_pb2_grpc.StageAdminStub(c) for s, c in ch.items()}

    def senders(self) -> dict[Stage, Sender]:
        """How the dispatcher sends each stage's requests (the `*_request` messages below);
        shape also takes a batch as one GenerateShapeBatch call."""
        return {
            Stage.DETECTOR: Sender(self.send_detect),
            Stage.MATTING: Sender(self.send_matte),
            Stage.SHAPE: Sender(self.send_shape, self.send_shapes),
            Stage.TEXTURE: Sender(self.send_texture),
        }

    async def load(self, stage: Stage) -> float:
        """StageAdmin.Load: bring the stage's model up now (the dispatcher's load-ahead);
        the seconds it took, 0 when it was resident."""
        endpoint = self._settings.endpoint(stage.value)
        request = stage_pb2.LoadRequest()
        try:
            r = await self._admin[stage].Load(request, timeout=endpoint.deadline_seconds)
        except grpc.aio.AioRpcError as err:
            raise from_rpc_error(err) from None
        return float(r.seconds)

    async def footprint(self, stage: Stage) -> int:
        """StageAdmin.GetStatus: the device bytes the stage's model takes while resident
        (0: none), as the stage reports it."""
        try:
            r = await self._admin[stage].GetStatus(stage_pb2.GetStatusRequest(), timeout=5.0)
        except grpc.aio.AioRpcError as err:
            raise from_rpc_error(err) from None
        return int(r.footprint_bytes)

    async def close(self) -> None:
        """Close every channel (in-flight calls are cancelled)."""
        await asyncio.gather(*(c.close() for c in self._channels.values()))

    async def send_detect(self, request: stage_pb2.DetectRequest) -> DetectOutput:
        """One Detector.Detect call."""
        r = await self._invoke(Stage.DETECTOR, self._detector.Detect, request)
        return DetectOutput(
            found=[Found(d.label or "object", _box(d.box), d.score) for d in r.detections],
            category_filtering_applied=r.category_filtering_applied,
            notices=list(r.notices),
            report=report_from_pb(r.report),
        )

    async def send_matte(self, request: stage_pb2.MatteRequest) -> MatteOutput:
        """One Matting.Matte call."""
        r = await self._invoke(Stage.MATTING, self._matting.Matte, request)
        return MatteOutput(r.rgba_png, r.foreground_fraction, report_from_pb(r.report))

    async def send_shape(self, request: stage_pb2.GenerateShapeRequest) -> ShapeOutput:
        """One Shape.GenerateShape call."""
        r = await self._invoke(Stage.SHAPE, self._shape.GenerateShape, request)
        return _shape_output(r)

    async def send_shapes(
        self, requests: list[stage_pb2.GenerateShapeRequest]
    ) -> list[ShapeOutput | MeshpipeError]:
        """One Shape.GenerateShapeBatch call: per item its output or its typed error, in
        order. The deadline scales with the number of items."""
        batch = stage_pb2.GenerateShapeBatchRequest(items=requests)
        r = await self._invoke(
            Stage.SHAPE, self._shape.GenerateShapeBatch, batch, deadline_scale=len(requests)
        )
        if len(r.items) != len(requests):
            raise MeshpipeError(
                f"shape stage answered {len(r.items)} items for a batch of {len(requests)}"
            )
        return [
            _shape_output(item.result)
            if item.WhichOneof("outcome") == "result"
            else from_code(_status_code(item.error.code), item.error.message)
            for item in r.items
        ]

    async def send_texture(self, request: stage_pb2.PaintTextureRequest) -> TextureOutput:
        """One Texture.PaintTexture call."""
        r = await self._invoke(Stage.TEXTURE, self._texture.PaintTexture, request)
        return TextureOutput(r.textured_glb, r.texture_size, report_from_pb(r.report))

    async def _invoke(
        self,
        stage: Stage,
        rpc: Callable[..., Awaitable[R]],
        request: Any,
        deadline_scale: float = 1.0,
    ) -> R:
        endpoint = self._settings.endpoint(stage.value)
        attempt = 0
        while True:
            t0 = time.monotonic()
            try:
                response = await rpc(request, timeout=endpoint.deadline_seconds * deadline_scale)
            except grpc.aio.AioRpcError as err:
                self._observe(stage, err.code().name, t0)
                if err.code() != grpc.StatusCode.UNAVAILABLE:
                    raise from_rpc_error(err) from None
                if attempt >= self._settings.unavailable_retries:
                    raise Unavailable(
                        f"{stage.value} stage still unavailable after {attempt} retries: "
                        f"{err.details()}"
                    ) from None
                attempt += 1
                self._metrics.stage_retries.labels(stage.value).inc()
                log.warning("%s unavailable (%s); retry %d", stage.value, err.details(), attempt)
                await self.wait_healthy(
                    stage, self._settings.retry_backoff_seconds * 2 ** (attempt - 1)
                )
                continue
            self._observe(stage, "OK", t0)
            return response

    def _observe(self, stage: Stage, code: str, t0: float) -> None:
        self._metrics.stage_seconds.labels(stage.value, code).observe(time.monotonic() - t0)

    async def wait_healthy(self, stage: Stage, first_pause: float = 0.0) -> None:
        """Return once the stage's health says SERVING; Unavailable after the configured wait."""
        service = stage_pb2.DESCRIPTOR.services_by_name[SERVICE_NAMES[stage]].full_name
        deadline = time.monotonic() + self._settings.unavailable_wait_seconds
        pause = first_pause
        while True:
            await asyncio.sleep(pause)
            try:
                reply = await self._health[stage].Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=2.0
                )
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError as err:
                log.debug("%s health check: %s", stage.value, err.code().name)
            if time.monotonic() >= deadline:
                raise Unavailable(
                    f"{stage.value} stage at {self._settings.endpoint(stage.value).address} "
                    f"did not become healthy within {self._settings.unavailable_wait_seconds:.0f}s"
                )
            pause = min(max(pause * 2, 0.1), 2.0)
