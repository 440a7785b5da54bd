"""Shape.GenerateShapeBatch over a real socket, and the backends' batch contract."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from prometheus_client import CollectorRegistry

from meshpipe.errors import InvalidInput
from meshpipe.images import encode_png
from meshpipe.runtime.backend import BackendInfo
from meshpipe.runtime.metrics import StageMetrics
from meshpipe.runtime.model import ModelRunner
from meshpipe.runtime.server import create_stage_server
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from services.shape.backends import ShapeBackend, ShapeRequest, ShapeResult, build_backend
from services.shape.service import SPEC
from services.shape.settings import ShapeSettings
from tests.unit.shape import crops


def settings(**overrides: object) -> ShapeSettings:
    values: dict[str, object] = {"park_after": 0, "unload_after": 0, "octree_resolution": 32}
    return ShapeSettings.model_validate({**values, **overrides})


class CountingBackend:
    """Wraps a backend and counts its generate_batch calls."""

    def __init__(self, backend: ShapeBackend) -> None:
        self.backend = backend
        self.batches: list[int] = []
        original = backend.generate_batch

        def generate_batch(requests: list[ShapeRequest]) -> list[object]:
            self.batches.append(len(requests))
            return list(original(requests))

        backend.generate_batch = generate_batch  # type: ignore[method-assign,assignment]


@pytest.fixture
async def shape() -> AsyncIterator[tuple[stage_pb2_grpc.ShapeStub, CountingBackend, StageMetrics]]:
    s = settings(max_batch=4)
    counting = CountingBackend(build_backend(s))
    metrics = StageMetrics("shape", CollectorRegistry())
    runner = ModelRunner("shape", counting.backend, s, metrics)
    server, port, _ = await create_stage_server(SPEC, runner, "127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield stage_pb2_grpc.ShapeStub(channel), counting, metrics
    await server.stop(None)
    await runner.close()


def item(**kwargs: object) -> stage_pb2.GenerateShapeRequest:
    png = encode_png(crops.synthetic(crops.disc()))
    return stage_pb2.GenerateShapeRequest(rgba_png=png, **kwargs)  # type: ignore[arg-type]


async def test_a_batch_of_three_with_one_bad_item_is_one_model_call(
    shape: tuple[stage_pb2_grpc.ShapeStub, CountingBackend, StageMetrics],
) -> None:
    stub, counting, metrics = shape
    bad = item(octree_resolution=4000)  # out of range: this item's error only
    reply = await stub.GenerateShapeBatch(
        stage_pb2.GenerateShapeBatchRequest(items=[item(seed=1), bad, item(seed=2)])
    )
    outcomes = [i.WhichOneof("outcome") for i in reply.items]
    assert outcomes == ["result", "error", "result"]
    assert reply.items[1].error.code == "INVALID_ARGUMENT"
    assert "octree_resolution" in reply.items[1].error.message
    for i in (0, 2):
        r = reply.items[i].result
        assert r.mesh_glb and r.face_count > 0 and r.watertight
        assert r.report.backend.backend
    assert counting.batches == [2]  # the two valid items in one backend call
    count = metrics.requests.labels("shape", "GenerateShapeBatch", "OK")._value.get()
    assert count == 1


@pytest.mark.parametrize("n", [0, 5])
async def test_an_empty_or_too_large_batch_is_invalid(
    shape: tuple[stage_pb2_grpc.ShapeStub, CountingBackend, StageMetrics], n: int
) -> None:
    stub, counting, _ = shape
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GenerateShapeBatch(stage_pb2.GenerateShapeBatchRequest(items=[item()] * n))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert counting.batches == []


async def test_target_faces_over_the_socket(
    shape: tuple[stage_pb2_grpc.ShapeStub, CountingBackend, StageMetrics],
) -> None:
    stub, _, _ = shape
    reply = await stub.GenerateShape(item(octree_resolution=64, target_faces=1500))
    assert abs(reply.face_count - 1500) <= 75
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GenerateShape(item(target_faces=50))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "target_faces 50 is too small" in (err.value.details() or "")


class Flaky(ShapeBackend):
    """Fails every request whose seed is odd; no batch method of its own."""

    @property
    def info(self) -> BackendInfo:
        return BackendInfo("flaky", "none", "cpu")

    def load(self) -> None: ...

    def unload(self) -> None: ...

    def generate(self, request: ShapeRequest) -> ShapeResult:
        if request.seed % 2:
            raise InvalidInput(f"odd seed {request.seed}")
        return ShapeResult(b"glb", 3, 1, False)


def test_the_default_batch_loops_over_generate_keeping_each_error_in_its_slot() -> None:
    backend = Flaky(settings())
    image = crops.synthetic(crops.disc())
    results = backend.generate_batch([ShapeRequest(image, seed=s) for s in (0, 1, 2)])
    assert isinstance(results[0], ShapeResult) and isinstance(results[2], ShapeResult)
    assert isinstance(results[1], InvalidInput) and "odd seed 1" in str(results[1])
