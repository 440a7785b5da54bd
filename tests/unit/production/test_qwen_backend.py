"""The Qwen-VL detector backend: real loading path on a tiny model, served over gRPC."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import grpc
import pytest
from PIL import Image

from meshpipe.images import encode_png
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from services.detector.backends.qwen_vl import QwenVLBackend
from services.detector.options import DetectOptions
from services.detector.qwen_boxes import ModelFrame
from services.detector.settings import DetectorSettings
from tests.unit.production import recorded_answers as answers
from tests.unit.production.stage_server import serve

SMALL = {"min_pixels": 32 * 32, "max_pixels": 128 * 128, "max_new_tokens": 40}


def settings_for(folder: Path, **extra: Any) -> DetectorSettings:
    values: dict[str, Any] = {
        "backend": "qwen-vl",
        "qwen_model": str(folder),
        "metrics_port": -1,
        "park_after": 0,
        "unload_after": 0,
        "memory_profile": "none",
        **SMALL,
        **extra,
    }
    return DetectorSettings(**values)


def photo() -> bytes:
    image = Image.new("RGB", (240, 160), (230, 230, 225))
    image.paste((180, 40, 40), (40, 30, 120, 130))
    return encode_png(image)


async def test_detect_over_grpc_runs_the_tiny_model(tiny_qwen: Path) -> None:
    async with serve("detector", settings_for(tiny_qwen)) as (channel, runner):
        stub = stage_pb2_grpc.DetectorStub(channel)
        reply = await stub.Detect(stage_pb2.DetectRequest(image=photo(), prompt="mug, lamp"))
        assert reply.report.backend.backend == "qwen3-vl"
        assert reply.report.backend.weights == str(tiny_qwen)
        assert reply.report.backend.device == "cpu"
        assert reply.category_filtering_applied
        assert (reply.image_width, reply.image_height) == (240, 160)
        assert reply.report.inference_seconds > 0
        for det in reply.detections:  # random weights: usually none, never out of frame
            assert det.label in ("mug", "lamp")
            assert 0 <= det.box.x1 < det.box.x2 <= 240 and 0 <= det.box.y1 < det.box.y2 <= 160
        assert all(isinstance(n, str) and n for n in reply.notices)
        assert runner.counters.cold_loads == 1

        whole = await stub.Detect(stage_pb2.DetectRequest(image=photo(), prompt=""))
        assert [(d.label, d.box.x2, d.box.y2) for d in whole.detections] == [("object", 240, 160)]
        assert not whole.category_filtering_applied


async def test_missing_weight_file_is_failed_precondition_naming_it(
    tiny_qwen: Path, tmp_path: Path
) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(tiny_qwen, partial)
    (partial / "model.safetensors").unlink()
    async with serve("detector", settings_for(partial)) as (channel, _):
        stub = stage_pb2_grpc.DetectorStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Detect(stage_pb2.DetectRequest(image=photo(), prompt="mug"))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "model.safetensors" in (err.value.details() or "")


def test_recorded_answer_becomes_labelled_scored_detections(
    tiny_qwen: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = QwenVLBackend(settings_for(tiny_qwen))
    backend.load()
    text = answers.QWEN3_TWO_OBJECTS
    cut = text.index("lamp")  # tokens before "lamp" are certain, the rest are not
    frame = ModelFrame(1000, 500, 512, 256)
    monkeypatch.setattr(
        backend, "_generate", lambda *a: (text, frame, [cut, len(text)], [0.9, 0.2])
    )
    result = backend.detect(
        Image.new("RGB", (1000, 500)), "Mug, desk lamp", DetectOptions(10, 0.01, 0.5)
    )
    labels = [
        (d.label, round(d.box.x1), round(d.box.y1), round(d.box.x2)) for d in result.detections
    ]
    assert labels == [("Mug", 52, 189, 294), ("desk lamp", 612, 60, 905)]
    assert result.detections[0].score == pytest.approx(0.9)
    assert result.detections[1].score == pytest.approx((0.9 * 0.2) ** 0.5)
    backend.unload()
