"""Matting production paths: a custom ONNX model through rembg's custom session, and the
BiRefNet backend through transformers' trust_remote_code loader, both over gRPC."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from PIL import Image

from meshpipe.images import encode_png
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from services.matting.backends.rembg import onnx_providers
from services.matting.settings import MattingSettings
from tests.unit.production.stage_server import serve

OBJECT = (60, 40, 180, 120)  # red rectangle on a blue background, 240 x 160


def photo() -> Image.Image:
    image = Image.new("RGB", (240, 160), (20, 40, 200))
    image.paste((220, 30, 30), OBJECT)
    return image


def quiet(**values: Any) -> MattingSettings:
    base: dict[str, Any] = {
        "metrics_port": -1,
        "park_after": 0,
        "unload_after": 0,
        "memory_profile": "none",
    }
    return MattingSettings(**{**base, **values})


async def matte(channel: grpc.aio.Channel) -> stage_pb2.MatteResponse:
    stub = stage_pb2_grpc.MattingStub(channel)
    return await stub.Matte(stage_pb2.MatteRequest(image=encode_png(photo())))


async def test_custom_onnx_model_through_rembg_custom_session(red_onnx: Path) -> None:
    settings = quiet(
        backend="rembg",
        model="u2net_custom",
        custom_model=red_onnx.name,
        weights_dir=str(red_onnx.parent),
    )
    async with serve("matting", settings) as (channel, _):
        reply = await matte(channel)
    assert (reply.report.backend.backend, reply.report.backend.weights) == (
        "rembg",
        "red-matte.onnx",
    )
    assert reply.report.backend.device == "cpu"  # no onnxruntime-gpu here
    alpha = np.asarray(Image.open(io.BytesIO(reply.rgba_png)).getchannel("A")) / 255.0
    x1, y1, x2, y2 = OBJECT
    assert alpha[y1 + 5 : y2 - 5, x1 + 5 : x2 - 5].min() > 0.9
    outside = np.ones_like(alpha, dtype=bool)
    outside[y1 - 5 : y2 + 5, x1 - 5 : x2 + 5] = False
    assert alpha[outside].max() < 0.1
    expected = (x2 - x1) * (y2 - y1) / alpha.size
    assert reply.foreground_fraction == pytest.approx(expected, abs=0.02)


def test_onnx_providers_fall_back_to_cpu_without_onnxruntime_gpu() -> None:
    assert onnx_providers("cpu") == ["CPUExecutionProvider"]
    assert onnx_providers("auto")[-1] == "CPUExecutionProvider"


async def test_birefnet_backend_serves_matte(tiny_birefnet: Path) -> None:
    settings = quiet(backend="birefnet", birefnet_model=str(tiny_birefnet), birefnet_resolution=64)
    async with serve("matting", settings) as (channel, runner):
        reply = await matte(channel)
        info = reply.report.backend
        assert (info.backend, info.weights, info.device) == ("birefnet", str(tiny_birefnet), "cpu")
        image = Image.open(io.BytesIO(reply.rgba_png))
        assert (image.mode, image.size) == ("RGBA", (240, 160))
        assert 0.0 <= reply.foreground_fraction <= 1.0
        assert runner.backend.footprint_bytes == 0  # CPU: no device lease


async def test_birefnet_without_its_code_file_names_it(tiny_birefnet: Path, tmp_path: Path) -> None:
    partial = tmp_path / "BiRefNet"
    shutil.copytree(tiny_birefnet, partial)
    (partial / "birefnet.py").unlink()
    settings = quiet(backend="birefnet", birefnet_model=str(partial), birefnet_resolution=64)
    async with serve("matting", settings) as (channel, _):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await matte(channel)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "birefnet.py" in (err.value.details() or "")


@pytest.mark.parametrize(
    ("first_line", "expected"),
    [
        # the code imports a package that is not installed (transformers checks imports)
        ("import kornia_not_installed_here\n", "kornia_not_installed_here"),
        # code written for transformers 4 (what BiRefNet's published code hits on 5.x)
        (
            "raise AttributeError(\"'BiRefNet' object has no attribute 'all_tied_weights_keys'\")\n",
            "BiRefNet on transformers 5",
        ),
    ],
)
async def test_birefnet_code_that_does_not_load_is_a_failed_precondition(
    tiny_birefnet: Path, tmp_path: Path, first_line: str, expected: str
) -> None:
    # its own folder name: transformers imports remote code as a module named after it
    broken = tmp_path / f"BiRefNetBroken{len(first_line)}"
    shutil.copytree(tiny_birefnet, broken)
    code = broken / "birefnet.py"
    code.write_text(first_line + code.read_text())
    settings = quiet(backend="birefnet", birefnet_model=str(broken), birefnet_resolution=64)
    async with serve("matting", settings) as (channel, _):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await matte(channel)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert expected in (err.value.details() or "")
        assert str(broken) in (err.value.details() or "")
        # the stage stays up and reports the same clear error on the next request
        with pytest.raises(grpc.aio.AioRpcError) as again:
            await matte(channel)
        assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
