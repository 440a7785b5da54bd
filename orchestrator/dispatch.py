"""Stage dispatch: the single place that decides when a stage call runs.

The pipeline hands every stage call to a `Dispatcher`; this module's `FifoDispatcher` keeps a
bounded FIFO queue and a fixed number of workers per stage. A GPU-lease-aware scheduler
(batching by stage across jobs) replaces it by implementing the same `run` method.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from meshpipe.errors import ResourceExhausted
from orchestrator.domain import Stage
from orchestrator.metrics import OrchestratorMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")
Call = Callable[[], Coroutine[Any, Any, Any]]


class Dispatcher(Protocol):
    """Runs stage calls under some policy. Cancelling the awaiting task cancels the call,
    whether it is still queued or already in flight."""

    async def run(self, stage: Stage, job_id: str, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run `call` (one stage RPC for job `job_id`) when the policy allows; its result."""
        ...

    async def close(self) -> None:
        """Stop the workers; queued calls are cancelled."""
        ...


@dataclass
class _Work:
    job_id: str
    call: Call
    future: asyncio.Future[Any]
    queued_at: float = field(default_factory=time.monotonic)


class StageQueue:
    """One stage: a bounded FIFO queue drained by `concurrency` workers."""

    def __init__(
        self, stage: Stage, concurrency: int, max_queue: int, metrics: OrchestratorMetrics
    ) -> None:
        self.stage = stage
        self.max_queue = max_queue
        self._metrics = metrics
        self._queue: asyncio.Queue[_Work] = asyncio.Queue()
        self._workers = [
            asyncio.create_task(self._work(), name=f"{stage.value}-dispatch-{i}")
            for i in range(concurrency)
        ]
        self.in_flight = 0

    @property
    def depth(self) -> int:
        """Calls waiting in the queue."""
        return self._queue.qsize()

    async def run(self, job_id: str, call: Call) -> Any:
        """Queue `call` (ResourceExhausted when the queue is full) and await its result."""
        if self._queue.qsize() >= self.max_queue:
            raise ResourceExhausted(
                f"{self.stage.value} queue is full ({self.max_queue} calls waiting)"
            )
        work = _Work(job_id, call, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(work)
        self._publish()
        return await work.future

    async def _work(self) -> None:
        while True:
            work = await self._queue.get()
            self._publish()
            if work.future.done():  # cancelled while it waited
                continue
            self._metrics.stage_queue_wait.labels(self.stage.value).observe(
                time.monotonic() - work.queued_at
            )
            await self._execute(work)

    async def _execute(self, work: _Work) -> None:
        task = asyncio.create_task(work.call())
        work.future.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        self.in_flight += 1
        self._publish()
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:  # the dispatcher is closing
            task.cancel()
            work.future.cancel()
            raise
        finally:
            self.in_flight -= 1
            self._publish()
        exc = None if task.cancelled() else task.exception()
        if work.future.done():
            return
        if task.cancelled():
            work.future.cancel()
        elif exc is not None:
            work.future.set_exception(exc)
        else:
            work.future.set_result(task.result())

    def _publish(self) -> None:
        self._metrics.stage_queue_depth.labels(self.stage.value).set(self._queue.qsize())
        self._metrics.stage_in_flight.labels(self.stage.value).set(self.in_flight)

    async def close(self) -> None:
        """Stop the workers and cancel what is still queued."""
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        while not self._queue.empty():
            self._queue.get_nowait().future.cancel()
        self._publish()


class FifoDispatcher:
    """First come, first served per stage, with a per-stage concurrency limit."""

    def __init__(
        self,
        concurrency: dict[Stage, int],
        max_queue: int,
        metrics: OrchestratorMetrics,
    ) -> None:
        self.queues = {s: StageQueue(s, concurrency[s], max_queue, metrics) for s in Stage}

    async def run(self, stage: Stage, job_id: str, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run `call` through the stage's queue."""
        result: T = await self.queues[stage].run(job_id, call)
        return result

    async def close(self) -> None:
        """Stop every stage's workers."""
        await asyncio.gather(*(q.close() for q in self.queues.values()))
