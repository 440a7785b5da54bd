"""A batch of shape calls from the lease-aware dispatcher goes out as ONE GenerateShapeBatch
RPC (real StageClients against the fake stages): per-item results and errors go back to
each caller, UNAVAILABLE retries the whole call, a cancelled caller's item is left out; with
leases that fit (or a batch of one) each call stays its own GenerateShape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from meshpipe.errors import FailedPrecondition
from orchestrator.dispatch import LeaseAwareDispatcher
from orchestrator.domain import Stage
from orchestrator.metrics import OrchestratorMetrics
from orchestrator.policy import BatchPolicy
from orchestrator.stages import ShapeOutput, StageClients, shape_request
from tests.unit.orchestrator.conftest import make_settings
from tests.unit.orchestrator.fakes import Behaviour, scene_png
from tests.unit.orchestrator.test_lease_dispatch import GIB, FakeView

PNG, _ = scene_png()


@pytest.fixture
async def clients(tmp_path: Path, stage_address: str) -> AsyncIterator[StageClients]:
    c = StageClients(make_settings(tmp_path, stage_address), OrchestratorMetrics())
    yield c
    await c.close()


def dispatcher(budget: int, clients: StageClients) -> LeaseAwareDispatcher:
    return LeaseAwareDispatcher(
        {s: 1 for s in Stage},
        10,
        OrchestratorMetrics(),
        FakeView(budget),
        BatchPolicy(),
        max_batch=8,
        recheck_seconds=0.02,
        senders={Stage.SHAPE: clients.senders()[Stage.SHAPE]},
    )


async def shape_calls(
    d: LeaseAwareDispatcher, clients: StageClients, seeds: list[int]
) -> tuple[list[asyncio.Task[Any]], asyncio.Event]:
    """Hold the device with a texture call, queue one shape request per seed (the shape
    stage's sender is the real client's), then let go."""
    gate = asyncio.Event()

    async def texture() -> None:
        await gate.wait()

    held = asyncio.create_task(d.run(Stage.TEXTURE, "j0", texture))
    await asyncio.sleep(0.05)
    tasks = [
        asyncio.create_task(d.run(Stage.SHAPE, f"j{seed}", shape_request(PNG, seed, 0, 0, 0.0)))
        for seed in seeds
    ]
    await asyncio.sleep(0.05)
    assert not held.done()
    return [held, *tasks], gate


async def test_a_shape_batch_is_one_rpc_with_per_item_outcomes(
    clients: StageClients, behaviour: Behaviour
) -> None:
    behaviour.shape_fail_seed = 2
    behaviour.unavailable["shape"] = 1  # the whole batch call is retried once
    d = dispatcher(4 * GIB, clients)  # no two models fit: batched
    try:
        tasks, gate = await shape_calls(d, clients, [1, 2, 3])
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await d.close()
    assert behaviour.shape_batches == [3, 3]  # UNAVAILABLE once, then the retry
    assert not [c for c in behaviour.calls if c[0] == "shape"]  # no single GenerateShape
    ok1, failed, ok3 = results[1:]
    assert isinstance(ok1, ShapeOutput) and isinstance(ok3, ShapeOutput)
    assert ok1.face_count == 12 and ok1.mesh_glb
    assert isinstance(failed, FailedPrecondition) and "no surface" in str(failed)
    assert [r.seed for r in behaviour.shape_requests] == [1, 2, 3]


async def test_a_cancelled_caller_s_item_is_left_out_of_the_batch(
    clients: StageClients, behaviour: Behaviour
) -> None:
    d = dispatcher(4 * GIB, clients)
    try:
        tasks, gate = await shape_calls(d, clients, [1, 2, 3])
        tasks[2].cancel()  # seed 2's job is cancelled while queued
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await d.close()
    assert isinstance(results[2], asyncio.CancelledError)
    assert all(isinstance(r, ShapeOutput) for r in (results[1], results[3]))
    assert behaviour.shape_batches == [2]
    assert [r.seed for r in behaviour.shape_requests] == [1, 3]


async def test_when_leases_fit_each_shape_call_stays_single(
    clients: StageClients, behaviour: Behaviour
) -> None:
    d = dispatcher(64 * GIB, clients)  # everything fits: FIFO, no batches
    try:
        tasks, gate = await shape_calls(d, clients, [1, 2])
        gate.set()
        results = await asyncio.gather(*tasks)
    finally:
        await d.close()
    assert all(isinstance(r, ShapeOutput) for r in results[1:])
    assert behaviour.shape_batches == []
    assert len([c for c in behaviour.calls if c[0] == "shape"]) == 2
