"""Detector servicer over a real socket (in-process server on 127.0.0.1:0)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from PIL import Image
from prometheus_client import CollectorRegistry

from meshpipe.images import encode_png
from meshpipe.runtime.metrics import StageMetrics
from meshpipe.runtime.model import ModelRunner
from meshpipe.runtime.server import create_stage_server
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from services.detector.backends import build_backend
from services.detector.service import SPEC
from services.detector.settings import DetectorSettings
from tests.unit.scenes.library import three_objects


@pytest.fixture
async def detector() -> AsyncIterator[stage_pb2_grpc.DetectorStub]:
    settings = DetectorSettings.model_validate({"park_after": 0, "unload_after": 0})
    runner = ModelRunner(
        "detector", build_backend(settings), settings, StageMetrics("detector", CollectorRegistry())
    )
    server, port, _ = await create_stage_server(SPEC, runner, "127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield stage_pb2_grpc.DetectorStub(channel)
    await server.stop(None)
    await runner.close()


def scene_png(seed: int = 0) -> bytes:
    return encode_png(Image.fromarray(three_objects(seed).image))


async def test_detect_returns_boxes_report_and_the_prompt_notice(
    detector: stage_pb2_grpc.DetectorStub,
) -> None:
    reply = await detector.Detect(stage_pb2.DetectRequest(image=scene_png(), prompt="mug"))
    assert len(reply.detections) == 3
    assert (reply.image_width, reply.image_height) == (540, 360)
    assert reply.category_filtering_applied is False
    assert any("Qwen3-VL" in n for n in reply.notices)
    assert reply.report.backend.backend == "embedded-saliency"
    assert reply.report.backend.weights == "none"
    assert reply.report.inference_seconds > 0
    box = reply.detections[0].box
    assert 0 <= box.x1 < box.x2 <= 540 and 0 <= box.y1 < box.y2 <= 360


async def test_request_knobs_override_the_defaults(detector: stage_pb2_grpc.DetectorStub) -> None:
    reply = await detector.Detect(stage_pb2.DetectRequest(image=scene_png(), max_objects=1))
    assert len(reply.detections) == 1 and not reply.notices


@pytest.mark.parametrize(
    ("request_kwargs", "needle"),
    [
        ({"max_objects": 1000}, "max_objects"),
        ({"min_area_fraction": 1.5}, "min_area_fraction"),
        ({"nms_iou": -0.5}, "nms_iou"),
        ({"image": b"not an image"}, "not a decodable image"),
        ({"image": b""}, "empty"),
    ],
)
async def test_bad_requests_are_invalid_argument(
    detector: stage_pb2_grpc.DetectorStub, request_kwargs: dict[str, object], needle: str
) -> None:
    fields: dict[str, object] = {"image": scene_png(), **request_kwargs}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await detector.Detect(stage_pb2.DetectRequest(**fields))  # type: ignore[arg-type]
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in (err.value.details() or "")
