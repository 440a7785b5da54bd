"""The servers every process builds (meshpipe.runtime.process.build_grpc_server), on real
sockets: health Watch, reflection, the keepalive policy with real pinging clients, and the
internal gate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from meshpipe.errors import ConfigurationError
from meshpipe.runtime.auth import InternalGate, TokenTable
from meshpipe.runtime.process import KEEPALIVE, Keepalive, build_grpc_server, set_health
from meshpipe.runtime.security import InsecureBind, check_bind

SECRET = "internal-secret-0123456789"


@asynccontextmanager
async def server(
    keepalive: Keepalive = KEEPALIVE, gate: Any = None
) -> AsyncIterator[tuple[str, health.aio.HealthServicer]]:
    srv, port, health_servicer = build_grpc_server(
        "127.0.0.1:0", 4 << 20, lambda s: None, keepalive=keepalive, gate=gate
    )
    await srv.start()
    await set_health(health_servicer, ("",))
    try:
        yield f"127.0.0.1:{port}", health_servicer
    finally:
        await srv.stop(0)


async def test_health_watch_streams_serving_then_changes() -> None:
    async with server() as (address, health_servicer), grpc.aio.insecure_channel(address) as ch:
        call = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest())
        first = await call.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        await set_health(health_servicer, ("",), serving=False)
        second = await asyncio.wait_for(call.read(), 5)
        assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING
        call.cancel()


async def list_services(address: str, credentials: Any = None) -> list[str]:
    """What `grpcurl list` shows, through the reflection client (no .proto needed)."""
    channel = (
        grpc.aio.secure_channel(address, credentials)
        if credentials
        else grpc.aio.insecure_channel(address)
    )
    async with channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for reply in stub.ServerReflectionInfo(iter([request])):
            return sorted(s.name for s in reply.list_services_response.service)
    raise AssertionError("no reflection reply")


async def test_reflection_lists_the_services() -> None:
    async with server() as (address, _):
        names = await list_services(address)
    assert "grpc.health.v1.Health" in names
    assert "grpc.reflection.v1alpha.ServerReflection" in names


async def _watch_for(address: str, ping_ms: int, seconds: float) -> grpc.StatusCode | None:
    """Keep an idle Watch stream open for `seconds` on a channel pinging every `ping_ms`;
    the status it ended with, or None if it was still open."""
    options = [
        ("grpc.keepalive_time_ms", ping_ms),
        ("grpc.keepalive_timeout_ms", 5000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
        await call.read()
        try:
            await asyncio.wait_for(call.read(), seconds)
        except TimeoutError:
            call.cancel()
            return None
        except grpc.aio.AioRpcError as err:
            return err.code()
        return grpc.StatusCode.OK


@pytest.mark.slow
async def test_a_client_pinging_within_the_policy_is_never_sent_goaway() -> None:
    # The policy scaled down (2 s minimum; gRPC clients ping at most every 1 s): a client
    # pinging every 2.5 s for 7 s stays connected, one pinging every 1 s is cut off with
    # GOAWAY too_many_pings (so the test can see one). Default gRPC servers cut off both.
    policy = Keepalive(min_ping_interval_ms=2000)
    async with server(policy) as (address, _):
        assert await _watch_for(address, 2500, 7.0) is None
        assert await _watch_for(address, 1000, 7.0) == grpc.StatusCode.UNAVAILABLE


def test_the_default_policy_admits_a_client_pinging_every_10_seconds() -> None:
    options = dict(KEEPALIVE.server_options())
    assert options["grpc.http2.min_ping_interval_without_data_ms"] <= 10_000
    assert options["grpc.keepalive_permit_without_calls"] == 1


async def test_the_internal_gate_leaves_health_and_reflection_open() -> None:
    async with server(gate=InternalGate(SECRET)) as (address, _):
        assert "grpc.health.v1.Health" in await list_services(address)
        async with grpc.aio.insecure_channel(address) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_tokens_map_to_principals_in_constant_time_comparisons() -> None:
    table = TokenTable.parse("alice:aaaaaaaaaaaaaaaa1\n# comment\nbob:bbbbbbbbbbbbbbbb2")
    assert table.principal("aaaaaaaaaaaaaaaa1") == "alice"
    assert table.principal("bbbbbbbbbbbbbbbb2") == "bob"
    assert table.principal("aaaaaaaaaaaaaaaa") is None
    with pytest.raises(ConfigurationError):
        TokenTable.parse("alice:short")


def test_without_credentials_only_loopback_binds_unless_insecure() -> None:
    check_bind("x", "127.0.0.1", authenticated=False, insecure=False)
    check_bind("x", "0.0.0.0", authenticated=True, insecure=False)
    check_bind("x", "0.0.0.0", authenticated=False, insecure=True)
    with pytest.raises(InsecureBind):
        check_bind("x", "0.0.0.0", authenticated=False, insecure=False)
