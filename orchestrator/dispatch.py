"""Stage dispatch: the single place that decides when a stage request is sent.

The pipeline queues `(stage, request)` items: `await dispatcher.run(stage, job, request)`.
Each stage has a `Sender` (`orchestrator/sending.py`) that knows how to send its requests:
`send_one` for one request, and, for a stage that takes a list (shape:
`GenerateShapeBatch`), `send_many` for a batch, one result or typed error per request back
(as MLServer's adaptive batcher hands a model the batch it assembled). The dispatcher
decides *when* and *together with what*; the sender decides *how*; batch membership is
plain data, not hidden context.

`FifoDispatcher` keeps a bounded FIFO queue and a fixed number of workers per stage.
`LeaseAwareDispatcher` (the orchestrator's default) serves earlier jobs first while the
stages' GPU leases all fit the budget together, and otherwise runs leased stages one batch
at a time, batched by stage across jobs by `orchestrator.policy.choose_next_batch`
(docs/scheduling.md). While they all fit and jobs are in flight, it also loads the leased
stages that are not resident yet (load-ahead), so that a job's later stages load while its
earlier ones run instead of one after another on its critical path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from meshpipe.errors import ResourceExhausted
from meshpipe.runtime.tasks import cancel_and_wait
from orchestrator.domain import Stage
from orchestrator.lease_view import LeaseState, LeaseView
from orchestrator.metrics import OrchestratorMetrics
from orchestrator.policy import BatchPolicy, StageView, choose_next_batch, rank_key
from orchestrator.sending import (
    CALLS,
    JobKey,
    Sender,
    Work,
    job_key,
    send_batch,
    send_one_item,
)

log = logging.getLogger(__name__)

Loader = Callable[[Stage], Awaitable[object]]  # brings a stage's model up (StageAdmin.Load)


class Dispatcher(Protocol):
    """Sends stage requests under some policy. Cancelling the awaiting task cancels the
    request, whether it is still queued or already in flight."""

    async def run(self, stage: Stage, job: str | JobKey, request: Any) -> Any:
        """Send `request` (one stage call for `job`) when the policy allows; its result."""
        ...

    async def close(self) -> None:
        """Stop the workers; queued requests are cancelled."""
        ...


class StageQueue:
    """One stage: a bounded FIFO queue drained by `concurrency` workers."""

    def __init__(
        self,
        stage: Stage,
        concurrency: int,
        max_queue: int,
        metrics: OrchestratorMetrics,
        sender: Sender = CALLS,
    ) -> None:
        self.stage = stage
        self.max_queue = max_queue
        self._metrics = metrics
        self._sender = sender
        self._queue: asyncio.Queue[Work] = asyncio.Queue()
        self._workers = [
            asyncio.create_task(self._work(), name=f"{stage.value}-dispatch-{i}")
            for i in range(concurrency)
        ]
        self.in_flight = 0

    @property
    def depth(self) -> int:
        """Requests waiting in the queue."""
        return self._queue.qsize()

    async def run(self, job: str | JobKey, request: Any) -> Any:
        """Queue `request` (ResourceExhausted when the queue is full) and await its result."""
        if self._queue.qsize() >= self.max_queue:
            raise ResourceExhausted(
                f"{self.stage.value} queue is full ({self.max_queue} calls waiting)"
            )
        work = Work(job_key(job), request, asyncio.get_running_loop().create_future())
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
            self.in_flight += 1
            self._publish()
            try:
                await send_one_item(self._sender, work)
            finally:
                self.in_flight -= 1
                self._publish()

    def _publish(self) -> None:
        self._metrics.stage_queue_depth.labels(self.stage.value).set(self._queue.qsize())
        self._metrics.stage_in_flight.labels(self.stage.value).set(self.in_flight)

    async def close(self) -> None:
        """Stop the workers and cancel what is still queued."""
        await cancel_and_wait(self._workers)
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
        senders: Mapping[Stage, Sender] | None = None,
    ) -> None:
        senders = senders or {}
        self.queues = {
            s: StageQueue(s, concurrency[s], max_queue, metrics, senders.get(s, CALLS))
            for s in Stage
        }

    async def run(self, stage: Stage, job: str | JobKey, request: Any) -> Any:
        """Send `request` through the stage's queue."""
        return await self.queues[stage].run(job, request)

    async def close(self) -> None:
        """Stop every stage's workers."""
        await asyncio.gather(*(q.close() for q in self.queues.values()))


@dataclass
class _ActiveBatch:
    """The batch of one leased stage being run while a device's leases do not all fit."""

    stage: Stage
    todo: list[Work]
    reason: str


class LeaseAwareDispatcher:
    """Per-stage bounded queues and concurrency limits, with one scheduler task.

    Stages are placed on devices (`placement`, GPU index per stage; default all on 0), each
    device with its own lease view (one arbiter ledger per GPU). While the leased stages of
    a device fit its budget together, each of its stages serves its queue in job order
    (`orchestrator.policy.rank_key`) up to its concurrency, overlapping with the others.
    When they do not, that device's leased stages run one batch at a time:
    `choose_next_batch` picks the stage and its items, and the batch runs before the next
    choice, so a stage's queued work is done while it is resident. A batch of a stage
    whose sender has `send_many` goes out as one call. Stages that need no lease are never
    held back, and nothing is held while a batch waits for its lease, so no job's work
    waits on another stage's lease.
    """

    def __init__(
        self,
        concurrency: dict[Stage, int],
        max_queue: int,
        metrics: OrchestratorMetrics,
        view: LeaseView | Mapping[int, LeaseView],
        policy: BatchPolicy | None = None,
        max_batch: int = 8,
        recheck_seconds: float = 0.25,
        senders: Mapping[Stage, Sender] | None = None,
        placement: Mapping[Stage, int] | None = None,
        loader: Loader | None = None,
    ) -> None:
        self._concurrency = concurrency
        self._max_queue = max_queue
        self._metrics = metrics
        self._views: Mapping[int, LeaseView] = view if isinstance(view, Mapping) else {0: view}
        self._placement = {s: (placement or {}).get(s, 0) for s in Stage}
        self._policy = policy or BatchPolicy()
        self._max_batch = max_batch
        self._recheck = recheck_seconds
        self._senders = dict(senders or {})
        self._pending: dict[Stage, list[Work]] = {s: [] for s in Stage}
        self._running: dict[Stage, dict[asyncio.Task[None], int]] = {s: {} for s in Stage}
        self._batches: dict[int, _ActiveBatch] = {}
        self._loader = loader
        self._loading: dict[Stage, asyncio.Task[None]] = {}
        self._loaded_ahead: set[Stage] = set()  # in this busy period (jobs in flight)
        self._seq = 0
        self._wake = asyncio.Event()
        self._scheduler = asyncio.create_task(self._schedule(), name="lease-dispatch")

    def depth(self, stage: Stage) -> int:
        """Requests of `stage` waiting to start (queued or in the chosen batch)."""
        waiting = list(self._pending[stage])
        batch = self._batches.get(self._placement[stage])
        if batch is not None and batch.stage is stage:
            waiting += batch.todo
        return sum(1 for w in waiting if not w.future.done())

    def in_flight(self, stage: Stage) -> int:
        """Requests of `stage` being sent now."""
        return sum(self._running[stage].values())

    async def run(self, stage: Stage, job: str | JobKey, request: Any) -> Any:
        """Queue `request` (ResourceExhausted when the stage's queue is full); its result."""
        if self.depth(stage) >= self._max_queue:
            raise ResourceExhausted(
                f"{stage.value} queue is full ({self._max_queue} calls waiting)"
            )
        self._seq += 1
        loop = asyncio.get_running_loop()
        work = Work(job_key(job), request, loop.create_future(), self._seq)
        self._pending[stage].append(work)
        self._publish(stage)
        self._wake.set()
        try:
            return await work.future
        finally:
            self._wake.set()  # a cancelled request frees its place

    async def close(self) -> None:
        """Stop the scheduler, cancel running and queued requests."""
        await cancel_and_wait([self._scheduler, *self._loading.values()])
        tasks = [t for running in self._running.values() for t in running]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for batch in self._batches.values():
            self._pending[batch.stage] += batch.todo
        self._batches.clear()
        for stage, pending in self._pending.items():
            for work in pending:
                work.future.cancel()
            pending.clear()
            self._publish(stage)

    async def _schedule(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._recheck):  # leases and ages change too
                    await self._wake.wait()
            self._wake.clear()
            try:
                self.dispatch()
            except Exception:  # a bug here must not stop every job: log, retry next round
                log.exception("dispatch round failed")

    def dispatch(self) -> None:
        """One scheduling round: start every request the policy allows now, per device."""
        for stage in Stage:
            self._drop_cancelled(stage)
        batched = [self._dispatch_device(d, view) for d, view in self._views.items()]
        unviewed = [s for s in Stage if self._placement[s] not in self._views]
        for stage in unviewed:  # placed on a device nobody rations: like no arbiter
            self._fill(stage, self._pending[stage])
        self._metrics.dispatch_batched.set(1 if any(batched) else 0)

    def _dispatch_device(self, device: int, view: LeaseView) -> bool:
        stages = [s for s in Stage if self._placement[s] == device]
        state = view.state().restricted([s.value for s in stages])
        batched = not state.all_fit()
        for stage in stages:
            if not batched or not state.needs_lease(stage.value):
                self._fill(stage, self._pending[stage])
        batch = self._batches.get(device)
        if batched:
            self.send_batches(device, state, stages)
        else:
            if batch is not None:  # leases fit again: its requests go back to their queue
                self._pending[batch.stage] += batch.todo
                del self._batches[device]
            self._load_ahead(state, stages)
        return batched

    def _load_ahead(self, state: LeaseState, stages: list[Stage]) -> None:
        """While every leased stage of the device fits its budget together and jobs are in
        flight, load the leased stages that are not resident, each only when its lease
        fits the free budget now (nobody is asked to give memory back for it), and each at
        most once per busy period: a stage its idle timer parks meanwhile stays parked
        until a request needs it."""
        if self._loader is None:
            return
        if not self._has_work():
            self._loaded_ahead.clear()
            return
        free = state.free_bytes
        for stage in stages:
            if not state.needs_lease(stage.value) or state.resident(stage.value):
                continue
            if stage in self._loaded_ahead or self._running[stage]:
                continue  # loaded ahead already, or its own request brings it up
            need = state.lease_bytes(stage.value)
            if need > free:
                continue
            free -= need
            self._loaded_ahead.add(stage)
            self._loading[stage] = asyncio.ensure_future(self._load(stage))
            self._metrics.load_ahead.labels(stage.value).inc()

    async def _load(self, stage: Stage) -> None:
        assert self._loader is not None
        try:
            await self._loader(stage)
            log.info("%s loaded ahead of its first request", stage.value)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stage's own request will try (and report) again
            log.warning("loading %s ahead failed: %s", stage.value, exc)
        finally:
            self._loading.pop(stage, None)
            self._wake.set()

    def _has_work(self) -> bool:
        return any(self._pending[s] or self._running[s] for s in Stage) or bool(self._batches)

    def _ranked(self, works: list[Work]) -> list[Work]:
        now = time.monotonic()
        return sorted(works, key=lambda w: rank_key(w.item(), now, self._policy))

    def _fill(self, stage: Stage, source: list[Work]) -> None:
        """Start requests from `source`, best-ranked first, while the stage has free slots."""
        source[:] = self._ranked([w for w in source if not w.future.done()])
        while source and self.in_flight(stage) < self._concurrency[stage]:
            work = source.pop(0)
            sender = self._senders.get(stage, CALLS)
            self._start(stage, [work], send_one_item(sender, work))
        self._publish(stage)

    def send_batches(self, device: int, state: LeaseState, stages: list[Stage]) -> None:
        leased = [s for s in stages if state.needs_lease(s.value)]
        batch = self._batches.get(device)
        if batch is not None:
            self._fill(batch.stage, batch.todo)
            if batch.todo or self._running[batch.stage]:
                return
            del self._batches[device]
        if any(self._running[s] for s in leased):
            return  # requests started while leases fitted: let them finish first
        batch = self._choose(device, state, leased)
        if batch is None:
            return
        sender = self._senders.get(batch.stage, CALLS)
        live = [w for w in batch.todo if not w.future.done()]
        if sender.send_many is not None and len(live) > 1:
            batch.todo.clear()
            self._start(batch.stage, live, send_batch(sender.send_many, live))
            self._publish(batch.stage)
        else:
            self._fill(batch.stage, batch.todo)

    def _choose(self, device: int, state: LeaseState, leased: list[Stage]) -> _ActiveBatch | None:
        views = [
            StageView(
                name=s.value,
                position=i,
                queue=[w.item() for w in self._pending[s]],
                resident=state.resident(s.value),
                lease_bytes=state.lease_bytes(s.value),
                max_batch=self._max_batch,
            )
            for i, s in enumerate(Stage)
            if s in leased
        ]
        choice = choose_next_batch(views, time.monotonic(), state.free_bytes, self._policy)
        if choice is None:
            return None
        stage = Stage(choice.stage)
        chosen = {item.seq for item in choice.items}
        by_seq = {w.seq: w for w in self._pending[stage]}
        todo = [by_seq[item.seq] for item in choice.items]  # in the policy's order
        self._pending[stage] = [w for w in self._pending[stage] if w.seq not in chosen]
        batch = self._batches[device] = _ActiveBatch(stage, todo, choice.reason)
        self._metrics.dispatch_batches.labels(stage.value, choice.reason).inc()
        log.debug("batch of %d %s request(s) (%s)", len(todo), stage.value, choice.reason)
        return batch

    def _start(self, stage: Stage, works: list[Work], send: Awaitable[None]) -> None:
        now = time.monotonic()
        for work in works:
            self._metrics.stage_queue_wait.labels(stage.value).observe(now - work.queued_at)
        task = asyncio.ensure_future(send)
        self._running[stage][task] = len(works)
        task.add_done_callback(lambda t: self._finished(stage, t))

    def _finished(self, stage: Stage, task: asyncio.Task[None]) -> None:
        self._running[stage].pop(task, None)
        self._publish(stage)
        self._wake.set()

    def _drop_cancelled(self, stage: Stage) -> None:
        if any(w.future.done() for w in self._pending[stage]):
            self._pending[stage] = [w for w in self._pending[stage] if not w.future.done()]
            self._publish(stage)

    def _publish(self, stage: Stage) -> None:
        self._metrics.stage_queue_depth.labels(stage.value).set(self.depth(stage))
        self._metrics.stage_in_flight.labels(stage.value).set(self.in_flight(stage))
