"""FifoDispatcher: per-stage concurrency, bounded queue, cancellation queued and in flight."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator

import pytest

from meshpipe.errors import ResourceExhausted
from orchestrator.dispatch import FifoDispatcher
from orchestrator.domain import Stage
from orchestrator.metrics import OrchestratorMetrics


@pytest.fixture
async def dispatcher() -> AsyncIterator[FifoDispatcher]:
    d = FifoDispatcher({s: 2 for s in Stage}, max_queue=3, metrics=OrchestratorMetrics())
    yield d
    await d.close()


async def test_concurrency_limit_holds_and_order_is_fifo() -> None:
    dispatcher = FifoDispatcher({s: 2 for s in Stage}, max_queue=10, metrics=OrchestratorMetrics())
    running, peak, started = 0, 0, []

    async def call(i: int) -> int:
        nonlocal running, peak
        started.append(i)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return i * 10

    results = await asyncio.gather(
        *(dispatcher.run(Stage.SHAPE, "job", functools.partial(call, i)) for i in range(5))
    )
    await dispatcher.close()
    assert results == [0, 10, 20, 30, 40]
    assert peak == 2 and started == [0, 1, 2, 3, 4]


async def test_full_queue_is_resource_exhausted(dispatcher: FifoDispatcher) -> None:
    gate = asyncio.Event()

    async def blocked() -> None:
        await gate.wait()

    tasks = [asyncio.create_task(dispatcher.run(Stage.MATTING, "j", blocked)) for _ in range(2)]
    await asyncio.sleep(0.01)  # 2 running
    tasks += [asyncio.create_task(dispatcher.run(Stage.MATTING, "j", blocked)) for _ in range(3)]
    await asyncio.sleep(0.01)  # 3 queued
    assert dispatcher.queues[Stage.MATTING].depth == 3
    with pytest.raises(ResourceExhausted, match="matting queue is full"):
        await asyncio.wait_for(dispatcher.run(Stage.MATTING, "j", blocked), 1)
    gate.set()
    await asyncio.gather(*tasks)


async def test_cancelling_a_caller_cancels_its_call(dispatcher: FifoDispatcher) -> None:
    log: list[str] = []
    gate = asyncio.Event()

    async def slow(name: str) -> None:
        log.append(f"start {name}")
        try:
            await gate.wait()
        except asyncio.CancelledError:
            log.append(f"cancelled {name}")
            raise

    tasks = [
        asyncio.create_task(dispatcher.run(Stage.TEXTURE, "j", functools.partial(slow, n)))
        for n in "abc"
    ]
    await asyncio.sleep(0.01)  # a and b in flight, c queued
    tasks[0].cancel()  # in flight
    tasks[2].cancel()  # queued
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert log == ["start a", "start b", "cancelled a"]
    assert tasks[1].result() is None


async def test_errors_reach_the_caller_and_workers_survive(dispatcher: FifoDispatcher) -> None:
    async def boom() -> None:
        raise ValueError("bad answer")

    async def fine() -> str:
        return "ok"

    with pytest.raises(ValueError, match="bad answer"):
        await dispatcher.run(Stage.DETECTOR, "j", boom)
    assert await dispatcher.run(Stage.DETECTOR, "j", fine) == "ok"
