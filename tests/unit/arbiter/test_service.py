"""The arbiter over real sockets: gRPC service + stage-side GrpcLease + ModelRunner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest

from meshpipe.errors import FailedPrecondition, ResourceExhausted, Unavailable
from meshpipe.runtime.lease_client import GrpcLease
from meshpipe.runtime.model import ModelState
from meshpipe.v1 import arbiter_pb2, arbiter_pb2_grpc
from orchestrator.arbiter.arbiter import Arbiter
from orchestrator.arbiter.ledger import GIB, ArbiterConfig
from orchestrator.arbiter.metrics import ArbiterMetrics
from orchestrator.arbiter.server import create_arbiter_server
from orchestrator.arbiter.truth import SimulatedProbe
from tests.unit.arbiter.helpers import CTX, close_runner, sim_runner

Served = tuple[Arbiter, str, grpc.aio.Server]


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    config = ArbiterConfig(
        budget_bytes=10 * GIB,
        context_bytes=CTX,
        ttl_seconds=1.0,
        heartbeat_seconds=0.1,
        min_residency_seconds=0.2,
        reclaim_timeout_seconds=2.0,
        max_wait_seconds=5.0,
    )
    arbiter = Arbiter(config, ArbiterMetrics(), SimulatedProbe(16 * GIB), truth_interval=0.1)
    server, port, _ = await create_arbiter_server({0: arbiter}, "127.0.0.1:0")
    await server.start()
    await arbiter.start()
    yield arbiter, f"127.0.0.1:{port}", server
    await server.stop(0)
    await arbiter.close()


def lease(address: str, holder: str, stage: str, **kwargs: Any) -> GrpcLease:
    return GrpcLease(address, stage, holder_id=holder, heartbeat_seconds=0.1, **kwargs)


def sample(arbiter: Arbiter, name: str, **labels: str) -> float:
    value = arbiter.metrics.registry.get_sample_value(name, {"device": "0", **labels})
    return 0.0 if value is None else value


async def eventually(condition: Callable[[], bool], within: float = 3.0) -> None:
    """Poll `condition` (state owned by other tasks) until it holds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling on purpose
            await asyncio.sleep(0.02)


async def test_a_stage_that_does_not_fit_gets_memory_by_parking_an_idle_one(
    served: Served,
) -> None:
    arbiter, address, _ = served
    shape = sim_runner("shape", 6, lease(address, "a", "shape"))
    texture = sim_runner("texture", 6, lease(address, "b", "texture"))
    await shape.start()
    await texture.start()
    try:
        await shape.run("Infer", shape.backend.infer, 1)
        await asyncio.sleep(0.3)  # past the minimum residency; heartbeats say idle
        await texture.run("Infer", texture.backend.infer, 1)
        assert shape.state is ModelState.PARKED and texture.state is ModelState.RESIDENT
        assert shape.backend.inner.calls == ["load", "park"]
        snap = arbiter.snapshot()
        assert snap.granted_bytes == 6 * GIB + 2 * CTX, "texture's lease + shape's context"
        assert snap.high_water_bytes <= snap.budget_bytes
        assert sample(arbiter, "meshpipe_arbiter_evictions_total", stage="shape") == 1
        assert sample(arbiter, "meshpipe_arbiter_learned_footprint_bytes", stage="shape") == (
            6 * GIB
        )
        await shape.run("Infer", shape.backend.infer, 2)  # and back: texture is reclaimed
        assert texture.state is ModelState.PARKED and shape.backend.inner.calls[-1] == "wake"
    finally:
        await close_runner(shape)
        await close_runner(texture)
    await eventually(lambda: arbiter.snapshot().granted_bytes == 0)


async def test_a_footprint_over_the_budget_fails_at_once(served: Served) -> None:
    _, address, _ = served
    texture = sim_runner("texture", 12, lease(address, "t", "texture"))
    with pytest.raises(FailedPrecondition, match=r"texture.*too large"):
        await texture.run("Infer", texture.backend.infer, 1)
    assert texture.state is ModelState.COLD and texture.backend.inner.calls == []
    await close_runner(texture)


async def test_a_bounded_wait_ends_in_resource_exhausted(served: Served) -> None:
    _, address, _ = served
    shape = sim_runner("shape", 8, lease(address, "a", "shape"))
    texture = sim_runner("texture", 8, lease(address, "b", "texture", max_wait_seconds=0.5))
    shape.backend.inner.infer_seconds = 1.5  # busy: never reclaimed while it runs
    busy = asyncio.create_task(shape.run("Infer", shape.backend.infer, 1))
    await asyncio.sleep(0.3)
    with pytest.raises(ResourceExhausted, match="queue position 1"):
        await texture.run("Infer", texture.backend.infer, 1)
    assert texture.state is ModelState.COLD
    await busy
    await close_runner(shape)
    await close_runner(texture)


async def test_the_stage_parks_when_the_arbiter_goes_away(served: Served) -> None:
    _, address, server = served
    shape = sim_runner("shape", 4, lease(address, "a", "shape"))
    await shape.start()
    await shape.run("Infer", shape.backend.infer, 1)
    await server.stop(0)
    await eventually(lambda: shape.state is ModelState.PARKED)
    with pytest.raises(Unavailable):  # no lease, no weights on the device
        await shape.run("Infer", shape.backend.infer, 1)
    await close_runner(shape)


async def test_a_silent_holder_is_expired_after_the_ttl(served: Served) -> None:
    arbiter, address, _ = served
    async with grpc.aio.insecure_channel(address) as channel:
        call = arbiter_pb2_grpc.ArbiterStub(channel).Hold()
        open_ = arbiter_pb2.HoldOpen(stage="shape", holder_id="hung", device_index=0)
        await call.write(arbiter_pb2.HoldRequest(open=open_))
        assert (await call.read()).WhichOneof("kind") == "opened"
        acquire = arbiter_pb2.HoldAcquire(model_bytes=8 * GIB)
        await call.write(arbiter_pb2.HoldRequest(acquire=acquire))
        assert (await call.read()).WhichOneof("kind") == "granted"
        t0 = asyncio.get_running_loop().time()
        last = await call.read()  # the process "hangs": no heartbeat, stream left open
        waited = asyncio.get_running_loop().time() - t0
        assert last.released.reason == "expired"
        assert 0.9 <= waited < 1.6, f"expired after {waited:.2f}s with a 1s TTL"
        assert await call.read() is grpc.aio.EOF
    assert arbiter.snapshot().granted_bytes == 0
    assert sample(arbiter, "meshpipe_arbiter_expirations_total", stage="shape") == 1


async def test_ledger_and_truth_over_grpc(served: Served) -> None:
    arbiter, address, _ = served
    shape = sim_runner("shape", 4, lease(address, "a", "shape"))
    await shape.start()
    await shape.run("Infer", shape.backend.infer, 1)
    await asyncio.sleep(0.3)  # a heartbeat reports the simulated device bytes
    async with grpc.aio.insecure_channel(address) as channel:
        ledger = await arbiter_pb2_grpc.ArbiterStub(channel).GetLedger(
            arbiter_pb2.GetLedgerRequest(device_index=0)
        )
    assert ledger.budget_bytes == 10 * GIB and ledger.granted_bytes == 4 * GIB + CTX
    assert [h.holder_id for h in ledger.holders] == ["a"]
    assert ledger.learned_bytes["shape"] == 4 * GIB
    assert ledger.truth_source == "simulated" and ledger.device_used_bytes == 4 * GIB + CTX
    assert sample(arbiter, "meshpipe_arbiter_drift_bytes") == 0
    assert sample(arbiter, "meshpipe_arbiter_drift_events_total", direction="over") == 0
    await close_runner(shape)


@pytest.mark.parametrize(
    ("first", "code"),
    [
        (arbiter_pb2.HoldRequest(heartbeat=arbiter_pb2.HoldHeartbeat()), "INVALID_ARGUMENT"),
        (
            arbiter_pb2.HoldRequest(
                open=arbiter_pb2.HoldOpen(stage="s", holder_id="x", device_index=3)
            ),
            "NOT_FOUND",
        ),
        (arbiter_pb2.HoldRequest(open=arbiter_pb2.HoldOpen(stage="s")), "INVALID_ARGUMENT"),
    ],
)
async def test_bad_first_messages_get_typed_statuses(
    served: Served, first: arbiter_pb2.HoldRequest, code: str
) -> None:
    _, address, _ = served
    async with grpc.aio.insecure_channel(address) as channel:
        call = arbiter_pb2_grpc.ArbiterStub(channel).Hold()
        await call.write(first)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call.read()
        assert err.value.code().name == code
