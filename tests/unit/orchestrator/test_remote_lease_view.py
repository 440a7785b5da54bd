"""RemoteLeaseView against a real arbiter gRPC server on 127.0.0.1:0: it sees the ledger
change, keeps the last known state (and raises nothing) while the arbiter is down, and
picks up again when it is back. Plus the `--arbiter` flag of `meshpipe orchestrator`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Callable

import grpc
import pytest

from meshpipe.cli import orchestrator_cmd
from orchestrator.arbiter.arbiter import Arbiter
from orchestrator.arbiter.ledger import GIB, MIB, ArbiterConfig
from orchestrator.arbiter.metrics import ArbiterMetrics
from orchestrator.arbiter.server import create_arbiter_server
from orchestrator.lease_view import LeaseState, RemoteLeaseView
from orchestrator.settings import OrchestratorSettings

CTX = 512 * MIB
Served = tuple[Arbiter, int, grpc.aio.Server]


async def serve(arbiter: Arbiter, port: int = 0) -> tuple[grpc.aio.Server, int]:
    server, bound, _ = await create_arbiter_server({0: arbiter}, f"127.0.0.1:{port}")
    await server.start()
    return server, bound


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    config = ArbiterConfig(
        budget_bytes=6 * GIB, context_bytes=CTX, ttl_seconds=30.0, estimates={"shape": 3 * GIB}
    )
    arbiter = Arbiter(config, ArbiterMetrics())
    await arbiter.start()
    server, port = await serve(arbiter)
    yield arbiter, port, server
    await server.stop(0)
    await arbiter.close()


@pytest.fixture
async def view(served: Served) -> AsyncIterator[RemoteLeaseView]:
    _, port, _ = served
    v = RemoteLeaseView(f"127.0.0.1:{port}", interval=0.05, timeout=0.5)
    await v.start()
    yield v
    await v.close()


async def eventually(condition: Callable[[], bool], within: float = 3.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling on purpose
            await asyncio.sleep(0.02)


async def test_the_view_follows_the_ledger_of_a_standalone_arbiter(
    served: Served, view: RemoteLeaseView
) -> None:
    arbiter, _, _ = served
    await eventually(lambda: view.polls > 0)
    state = view.state()
    assert state.budget_bytes == 6 * GIB and state.context_bytes == CTX
    assert state.needs_lease("shape") and not state.resident("shape"), "from the estimates"
    assert state.lease_bytes("shape") == 3 * GIB + CTX

    session = arbiter.connect("texture-1", "texture")
    session.acquire(2 * GIB)
    await eventually(lambda: view.state().resident("texture"))
    state = view.state()
    assert state.free_bytes == 6 * GIB - 2 * GIB - CTX
    assert state.lease_bytes("texture") == 2 * GIB, "its context is already charged"
    assert state.all_fit()  # 3 + 2 GiB + two contexts = 6 GiB

    session.release()
    await eventually(lambda: not view.state().resident("texture"))
    session.close()


async def test_an_unreachable_arbiter_keeps_the_last_state_and_raises_nothing(
    served: Served, view: RemoteLeaseView
) -> None:
    arbiter, port, server = served
    session = arbiter.connect("shape-1", "shape")
    session.acquire(4 * GIB)
    await eventually(lambda: view.state().resident("shape"))
    known = view.state()

    await server.stop(0)
    failures = view.failures
    await eventually(lambda: view.failures >= failures + 3)
    assert view.state() == known, "the last known ledger is kept"
    loop_task = view._task
    assert loop_task is not None and not loop_task.done(), "the poller keeps going"
    assert await view.poll() is False  # a direct poll does not raise either

    session.release()
    session.close()
    server2, _ = await serve(arbiter, port)  # back on the same port
    try:
        await eventually(lambda: not view.state().resident("shape"), within=10.0)
    finally:
        await server2.stop(0)


async def test_no_arbiter_at_all_gives_the_empty_state() -> None:
    view = RemoteLeaseView("127.0.0.1:1", interval=0.05, timeout=0.2)
    await view.start()
    try:
        await eventually(lambda: view.failures >= 2)
        assert view.state() == LeaseState() and view.polls == 0
    finally:
        await view.close()


def test_the_arbiter_flag_sets_arbiter_address(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[OrchestratorSettings] = []

    async def fake_serve(settings: OrchestratorSettings) -> None:
        seen.append(settings)

    monkeypatch.setattr("orchestrator.server.serve", fake_serve)
    parser = argparse.ArgumentParser()
    orchestrator_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["orchestrator", "--arbiter", "10.0.0.5:50070"])
    assert args.func(args) == 0
    assert seen[0].arbiter_address == "10.0.0.5:50070"
    assert not seen[0].embedded_arbiter()


async def test_footprints_the_stages_reported_fill_in_under_the_arbiter_s(served: Served) -> None:
    _, port, _ = served
    reported = {"shape": GIB, "texture": 2 * GIB}
    view = RemoteLeaseView(f"127.0.0.1:{port}", interval=0.05, reported=lambda: reported)
    await view.start()
    try:
        await eventually(lambda: view.polls > 0)
        state = view.state()
        assert state.lease_bytes("shape") == 3 * GIB + CTX, "the arbiter's estimate wins"
        assert state.lease_bytes("texture") == 2 * GIB + CTX, "known only from the stage"
    finally:
        await view.close()
