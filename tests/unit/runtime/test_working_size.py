"""Every stage works on a bounded copy of a large input: the detector answers in the input's
coordinates, matting returns its matte at the working size; memory is given back after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from PIL import Image
from prometheus_client import CollectorRegistry

from meshpipe.images import decode_image, encode_png, fit_within
from meshpipe.runtime.memory import release_after, release_memory
from meshpipe.runtime.metrics import StageMetrics
from meshpipe.runtime.model import ModelRunner
from meshpipe.runtime.server import StageSpec, create_stage_server
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from services.detector.service import SPEC as DETECTOR
from tests.unit.scenes.library import three_objects


def test_fit_within_keeps_small_images_and_the_aspect() -> None:
    small = Image.new("RGB", (300, 200))
    assert fit_within(small, 2048) is small and fit_within(small, 0) is small
    big = fit_within(Image.new("RGB", (6300, 4200)), 2048)
    assert big.size == (2048, 1365)


def test_release_memory_runs_malloc_trim_on_glibc() -> None:
    import platform

    assert release_memory() == (platform.libc_ver()[0] == "glibc")
    assert release_after(10) is False and release_after(10**8) is True


@pytest.fixture
def stage() -> Any:
    async def start(spec: StageSpec, **overrides: Any) -> AsyncIterator[grpc.aio.Channel]:
        settings = spec.settings_cls.model_validate(
            {"park_after": 0, "unload_after": 0, **overrides}
        )
        metrics = StageMetrics(spec.name, CollectorRegistry())
        runner = ModelRunner(spec.name, spec.build_backend(settings), settings, metrics)
        server, port, _ = await create_stage_server(spec, runner, "127.0.0.1:0")
        await server.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
        await server.stop(None)
        await runner.close()

    return start


async def test_detector_boxes_come_back_in_the_inputs_coordinates(stage: Any) -> None:
    scene = Image.fromarray(three_objects(0).image)  # 540x360
    big = encode_png(scene.resize((2160, 1440), Image.Resampling.NEAREST))
    replies = []
    for side in (0, 540):  # full size vs a working copy 4x smaller
        async for channel in stage(DETECTOR, max_working_side=side):
            stub = stage_pb2_grpc.DetectorStub(channel)
            replies.append(await stub.Detect(stage_pb2.DetectRequest(image=big)))
    full, bounded = replies
    assert (bounded.image_width, bounded.image_height) == (2160, 1440)
    assert len(full.detections) == len(bounded.detections) == 3
    for a, b in zip(full.detections, bounded.detections, strict=True):
        for name in ("x1", "y1", "x2", "y2"):  # within a few working pixels
            assert abs(getattr(a.box, name) - getattr(b.box, name)) <= 16


async def test_matting_returns_its_matte_at_the_working_size(stage: Any) -> None:
    from services.matting.service import SPEC as MATTING

    crop = Image.fromarray(three_objects(0).image).crop((0, 0, 360, 360)).resize((3000, 3000))
    async for channel in stage(MATTING, max_working_side=600):
        stub = stage_pb2_grpc.MattingStub(channel)
        reply = await stub.Matte(stage_pb2.MatteRequest(image=encode_png(crop)), timeout=120)
    matte = decode_image(reply.rgba_png)
    assert matte.size == (600, 600) and matte.mode == "RGBA"
