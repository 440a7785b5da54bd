"""Fake stage services (all four on one real gRPC server on 127.0.0.1:0) for orchestrator tests.

Each behaves like its stage's contract with trivial maths, and can be slowed down, made to
fail for one object (identified by the colour at the centre of its crop) or made to answer
UNAVAILABLE a few times.
"""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass, field

import grpc
import numpy as np
import trimesh
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from PIL import Image

from meshpipe.images import decode_image, encode_png
from meshpipe.v1 import common_pb2, stage_pb2, stage_pb2_grpc

PROMPT_NOTICE = "category filtering needs the VL model; boxes are class-agnostic"


@dataclass
class Behaviour:
    """Knobs shared by the fakes of one test."""

    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    delay: dict[str, float] = field(default_factory=dict)  # stage -> seconds per call
    fail_colour: tuple[int, int, int] | None = None  # matting fails for this object
    empty_colour: tuple[int, int, int] | None = None  # matting finds nothing in this object
    slow_texture_colour: tuple[int, int, int] | None = None  # texture stalls on this object
    texture_released: asyncio.Event = field(default_factory=asyncio.Event)  # ... until set
    fail_code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT
    unavailable: dict[str, int] = field(default_factory=dict)  # stage -> UNAVAILABLE answers left
    calls: list[tuple[str, float, float]] = field(default_factory=list)  # (stage, start, end)
    cancelled: list[str] = field(default_factory=list)  # stages whose call was cancelled
    shape_requests: list[stage_pb2.GenerateShapeRequest] = field(default_factory=list)
    shape_batches: list[int] = field(default_factory=list)  # items per GenerateShapeBatch
    shape_fail_seed: int | None = None  # a batch item with this seed gets an ItemError
    shape_reached: asyncio.Event = field(default_factory=asyncio.Event)  # a shape call arrived
    call_cancelled: asyncio.Event = field(default_factory=asyncio.Event)  # a call was cancelled
    metadata: list[dict[str, str]] = field(default_factory=list)  # each call's metadata


def _report(name: str) -> common_pb2.StageReport:
    return common_pb2.StageReport(
        backend=common_pb2.BackendInfo(backend=f"fake-{name}", weights="none", device="cpu"),
        inference_seconds=0.001,
    )


async def _enter(b: Behaviour, stage: str, context: grpc.aio.ServicerContext) -> float:
    b.metadata.append({k: str(v) for k, v in context.invocation_metadata() or ()})
    left = b.unavailable.get(stage, 0)
    if left:
        b.unavailable[stage] = left - 1
        await context.abort(grpc.StatusCode.UNAVAILABLE, f"{stage} is loading")
    start = time.monotonic()
    try:
        await asyncio.sleep(b.delay.get(stage, 0.0))
    except asyncio.CancelledError:
        b.cancelled.append(stage)
        b.call_cancelled.set()
        raise
    return start


def _glb(mesh: trimesh.Trimesh) -> bytes:
    data = mesh.export(file_type="glb")
    assert isinstance(data, bytes)
    return data


class FakeDetector(stage_pb2_grpc.DetectorServicer):
    def __init__(self, b: Behaviour) -> None:
        self.b = b

    async def Detect(
        self, request: stage_pb2.DetectRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.DetectResponse:
        start = await _enter(self.b, "detector", context)
        image = decode_image(request.image)
        dets = [
            stage_pb2.Detection(
                box=common_pb2.Box(x1=x1, y1=y1, x2=x2, y2=y2), label="object", score=0.9
            )
            for x1, y1, x2, y2 in self.b.boxes
        ]
        self.b.calls.append(("detector", start, time.monotonic()))
        return stage_pb2.DetectResponse(
            detections=dets[: request.max_objects or None],
            notices=[PROMPT_NOTICE] if request.prompt else [],
            image_width=image.width,
            image_height=image.height,
            report=_report("detector"),
        )


class FakeMatting(stage_pb2_grpc.MattingServicer):
    def __init__(self, b: Behaviour) -> None:
        self.b = b

    async def Matte(
        self, request: stage_pb2.MatteRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.MatteResponse:
        start = await _enter(self.b, "matting", context)
        crop = decode_image(request.image).convert("RGB")
        centre = crop.getpixel((crop.width // 2, crop.height // 2))
        if self.b.fail_colour is not None and tuple(centre) == self.b.fail_colour:  # type: ignore[arg-type]
            await context.abort(self.b.fail_code, "matting refused this crop")
        alpha = np.zeros((crop.height, crop.width), np.uint8)
        if self.b.empty_colour is None or tuple(centre) != self.b.empty_colour:  # type: ignore[arg-type]
            alpha[
                crop.height // 4 : 3 * crop.height // 4, crop.width // 4 : 3 * crop.width // 4
            ] = 255
        rgba = np.dstack([np.asarray(crop), alpha])
        self.b.calls.append(("matting", start, time.monotonic()))
        return stage_pb2.MatteResponse(
            rgba_png=encode_png(Image.fromarray(rgba, "RGBA")),
            foreground_fraction=float((alpha > 127).mean()),
            report=_report("matting"),
        )


class FakeShape(stage_pb2_grpc.ShapeServicer):
    def __init__(self, b: Behaviour) -> None:
        self.b = b

    async def GenerateShape(
        self, request: stage_pb2.GenerateShapeRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.GenerateShapeResponse:
        self.b.shape_requests.append(request)
        self.b.shape_reached.set()
        start = await _enter(self.b, "shape", context)
        Image.open(io.BytesIO(request.rgba_png)).verify()
        self.b.calls.append(("shape", start, time.monotonic()))
        return _box_response()

    async def GenerateShapeBatch(
        self, request: stage_pb2.GenerateShapeBatchRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.GenerateShapeBatchResponse:
        self.b.shape_batches.append(len(request.items))
        self.b.shape_reached.set()
        start = await _enter(self.b, "shape", context)
        items = []
        for item in request.items:
            self.b.shape_requests.append(item)
            if item.seed == self.b.shape_fail_seed:
                error = stage_pb2.ItemError(code="FAILED_PRECONDITION", message="no surface")
                items.append(stage_pb2.ShapeBatchItem(error=error))
            else:
                Image.open(io.BytesIO(item.rgba_png)).verify()
                items.append(stage_pb2.ShapeBatchItem(result=_box_response()))
        self.b.calls.append(("shape-batch", start, time.monotonic()))
        return stage_pb2.GenerateShapeBatchResponse(items=items)


def _box_response() -> stage_pb2.GenerateShapeResponse:
    mesh = trimesh.creation.box()
    return stage_pb2.GenerateShapeResponse(
        mesh_glb=_glb(mesh),
        vertex_count=len(mesh.vertices),
        face_count=len(mesh.faces),
        watertight=True,
        report=_report("shape"),
    )


class FakeTexture(stage_pb2_grpc.TextureServicer):
    def __init__(self, b: Behaviour) -> None:
        self.b = b

    async def PaintTexture(
        self, request: stage_pb2.PaintTextureRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.PaintTextureResponse:
        start = await _enter(self.b, "texture", context)
        rgba = decode_image(request.rgba_png)
        if rgba.convert("RGB").getpixel((rgba.width // 2, rgba.height // 2)) == (
            self.b.slow_texture_colour
        ):
            await asyncio.wait_for(self.b.texture_released.wait(), 30.0)
        mesh = painted_sphere(rgba)  # 42 vertices, 80 faces
        self.b.calls.append(("texture", start, time.monotonic()))
        return stage_pb2.PaintTextureResponse(
            textured_glb=_glb(mesh),
            texture_size=request.texture_size or 256,
            report=_report("texture"),
        )


def painted_sphere(rgba: Image.Image) -> trimesh.Trimesh:
    """An icosphere with UVs and an 8 x 8 texture of the colour at the matte's centre."""
    mesh = trimesh.creation.icosphere(subdivisions=1)
    centre = rgba.convert("RGB").getpixel((rgba.width // 2, rgba.height // 2))
    texture = Image.new("RGB", (8, 8), centre)
    uv = (mesh.vertices[:, :2] + 1.0) / 2.0
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=texture)
    mesh.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    return mesh


async def start_fake_stages(b: Behaviour) -> tuple[grpc.aio.Server, str]:
    """All four fake stages and a SERVING health service on one server; (server, address)."""
    server = grpc.aio.server()
    stage_pb2_grpc.add_DetectorServicer_to_server(FakeDetector(b), server)
    stage_pb2_grpc.add_MattingServicer_to_server(FakeMatting(b), server)
    stage_pb2_grpc.add_ShapeServicer_to_server(FakeShape(b), server)
    stage_pb2_grpc.add_TextureServicer_to_server(FakeTexture(b), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    for name in ("Detector", "Matting", "Shape", "Texture"):
        service = stage_pb2.DESCRIPTOR.services_by_name[name].full_name
        await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    return server, f"127.0.0.1:{port}"


COLOURS = [(220, 40, 40), (40, 200, 60), (40, 60, 220), (230, 200, 40)]


def scene_png(
    size: tuple[int, int] = (320, 240), n: int = 3
) -> tuple[bytes, list[tuple[float, float, float, float]]]:
    """A grey image with `n` coloured squares; returns (PNG bytes, their boxes)."""
    w, h = size
    img = np.full((h, w, 3), 128, np.uint8)
    boxes = []
    for i in range(n):
        x1, y1 = 20 + i * 90, 60
        img[y1 : y1 + 60, x1 : x1 + 60] = COLOURS[i]
        boxes.append((float(x1), float(y1), float(x1 + 60), float(y1 + 60)))
    return encode_png(Image.fromarray(img)), boxes
