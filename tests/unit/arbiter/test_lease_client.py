"""GrpcLease against a scripted arbiter: self-fencing, reclaim hand-off, withdrawal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from meshpipe.runtime.lease import LeaseUsage
from meshpipe.runtime.lease_client import GrpcLease
from meshpipe.v1 import arbiter_pb2, arbiter_pb2_grpc

R = arbiter_pb2.HoldResponse


class ScriptedArbiter(arbiter_pb2_grpc.ArbiterServicer):
    """Opens sessions (TTL 1 s), grants at once unless `queue_forever`, never acks heartbeats,
    and sends a reclaim request after a grant when `reclaim_after_grant`."""

    def __init__(self, queue_forever: bool = False, reclaim_after_grant: bool = False) -> None:
        self.queue_forever = queue_forever
        self.reclaim_after_grant = reclaim_after_grant
        self.received: list[str] = []

    async def Hold(
        self, request_iterator: AsyncIterator[arbiter_pb2.HoldRequest], context: Any
    ) -> AsyncIterator[arbiter_pb2.HoldResponse]:
        async for req in request_iterator:
            kind = req.WhichOneof("kind")
            self.received.append(kind or "")
            if kind == "open":
                yield R(opened=arbiter_pb2.HoldOpened(ttl_seconds=1.0, heartbeat_seconds=0.1))
            elif kind == "acquire" and self.queue_forever:
                yield R(queued=arbiter_pb2.HoldQueued(position=1))
            elif kind == "acquire":
                yield R(granted=arbiter_pb2.HoldGranted(model_bytes=req.acquire.model_bytes))
                if self.reclaim_after_grant:
                    reclaim = arbiter_pb2.HoldReclaim(min_residency_seconds=2, timeout_seconds=3)
                    yield R(reclaim=reclaim)


class Listener:
    def __init__(self) -> None:
        self.lost = asyncio.Event()
        self.reclaims: list[tuple[float, float]] = []

    def lease_usage(self) -> LeaseUsage:
        return LeaseUsage(busy=False, idle_seconds=1.0, device_bytes=123)

    def on_reclaim(self, min_residency_seconds: float, timeout_seconds: float) -> None:
        self.reclaims.append((min_residency_seconds, timeout_seconds))

    def on_lease_lost(self) -> None:
        self.lost.set()


async def serve(servicer: ScriptedArbiter) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    arbiter_pb2_grpc.add_ArbiterServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


async def test_a_stage_stops_using_the_gpu_when_it_cannot_renew() -> None:
    arbiter = ScriptedArbiter()
    server, address = await serve(arbiter)
    lease = GrpcLease(address, "shape", holder_id="s", heartbeat_seconds=0.1)
    listener = Listener()
    lease.attach(listener)
    await lease.acquire(1 << 30)
    assert lease.held
    t0 = asyncio.get_running_loop().time()
    await asyncio.wait_for(listener.lost.wait(), 2.0)
    waited = asyncio.get_running_loop().time() - t0
    assert 0.45 <= waited <= 0.8, f"fenced after {waited:.2f}s; half the 1s TTL expected"
    assert not lease.held
    await asyncio.sleep(0.05)
    assert "release" in arbiter.received, "a fenced lease is also returned (best effort)"
    assert arbiter.received.count("heartbeat") >= 3
    await lease.close()
    await server.stop(0)


async def test_reclaim_requests_reach_the_listener() -> None:
    server, address = await serve(ScriptedArbiter(reclaim_after_grant=True))
    lease = GrpcLease(address, "shape", holder_id="s")
    listener = Listener()
    lease.attach(listener)
    await lease.acquire(1 << 30)
    await asyncio.sleep(0.1)
    assert listener.reclaims == [(2.0, 3.0)]
    await lease.close()
    await server.stop(0)


async def test_a_cancelled_wait_withdraws_the_request() -> None:
    arbiter = ScriptedArbiter(queue_forever=True)
    server, address = await serve(arbiter)
    lease = GrpcLease(address, "shape", holder_id="s")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(lease.acquire(1 << 30), 0.3)
    await asyncio.sleep(0.05)
    assert arbiter.received[:2] == ["open", "acquire"] and "release" in arbiter.received
    assert not lease.held
    await lease.close()
    await server.stop(0)


async def test_cpu_stages_need_no_lease_and_no_arbiter() -> None:
    lease = GrpcLease("127.0.0.1:1", "matting")  # nothing listens there
    await lease.acquire(0)
    await lease.release()
    assert not lease.held
    await lease.close()
