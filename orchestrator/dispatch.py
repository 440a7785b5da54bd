"""Stage dispatch: the single place that decides when a stage call runs.

The pipeline hands every stage call to a `Dispatcher`. `FifoDispatcher` keeps a bounded FIFO
queue and a fixed number of workers per stage. `LeaseAwareDispatcher` (the orchestrator's
default) does the same while the stages' GPU leases all fit the budget together, and
otherwise runs leased stages one batch at a time, batched by stage across jobs by
`orchestrator.policy.choose_next_batch` (docs/scheduling.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from meshpipe.errors import ResourceExhausted
from meshpipe.runtime.tasks import cancel_and_wait
from orchestrator.domain import Stage
from orchestrator.lease_view import LeaseState, LeaseView
from orchestrator.metrics import OrchestratorMetrics
from orchestrator.policy import BatchPolicy, StageView, WorkItem, choose_next_batch

log = logging.getLogger(__name__)
T = TypeVar("T")
Call = Callable[[], Coroutine[Any, Any, Any]]
# A group's one RPC: payloads in, one result or typed error per payload out, in order.
GroupSend = Callable[[list[Any]], Awaitable[Sequence[Any]]]


class CallGroup:
    """The calls of one batch, started together so that a stage client can send them as one
    RPC (StageClients.shape -> Shape.GenerateShapeBatch).

    Each member call that reaches the client `join`s with its request; once every member has
    joined or finished without joining, one `send` carries the joined requests and each
    member gets its own result or error. A member cancelled before the send is left out; the
    send is cancelled when every member waiting on it is."""

    def __init__(self, members: int) -> None:
        self._open = members
        self._joined: list[tuple[Any, asyncio.Future[Any]]] = []
        self._send: GroupSend | None = None
        self._task: asyncio.Task[None] | None = None

    async def join(self, payload: Any, send: GroupSend) -> Any:
        """This member's result of the group's one `send` (its error raised)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._joined.append((payload, future))
        self._send = send
        self.leave()
        return await future  # cancelling the member cancels only its own future

    def leave(self) -> None:
        """One member joined or finished; send once none can join any more."""
        self._open -= 1
        if self._open == 0 and self._task is None and self._send is not None:
            self._task = asyncio.create_task(self._flush(self._send), name="group-call")

    async def _flush(self, send: GroupSend) -> None:
        joined = [(p, f) for p, f in self._joined if not f.done()]
        if not joined:
            return
        waiting = {f for _, f in joined}

        def forget(f: asyncio.Future[Any]) -> None:
            waiting.discard(f)
            cancelled = all(f.cancelled() for _, f in joined)
            if not waiting and cancelled and self._task is not None and not self._task.done():
                self._task.cancel()

        for f in waiting.copy():
            f.add_done_callback(forget)
        try:
            results = await send([p for p, _ in joined])
        except asyncio.CancelledError:
            for _, f in joined:
                f.cancel()
            raise
        except BaseException as exc:  # the whole call failed: every member fails with it
            for _, f in joined:
                if not f.done():
                    f.set_exception(exc)
            return
        for (_, f), result in zip(joined, results, strict=True):
            if f.done():
                continue
            if isinstance(result, BaseException):
                f.set_exception(result)
            else:
                f.set_result(result)


@dataclass
class _Member:
    group: CallGroup
    joined: bool = False

    def finished(self, _task: asyncio.Task[None]) -> None:
        """The member's call ended; if it never joined, the group stops waiting for it."""
        if not self.joined:
            self.group.leave()


_MEMBER: contextvars.ContextVar[_Member | None] = contextvars.ContextVar(
    "meshpipe_call_group_member", default=None
)


async def join_group(payload: Any, send: GroupSend) -> tuple[bool, Any]:
    """(True, result) when the running call belongs to a batch group (its payload then goes
    out in the group's one `send`); (False, None) otherwise, and the caller sends it alone."""
    member = _MEMBER.get()
    if member is None or member.joined:
        return False, None
    member.joined = True
    return True, await member.group.join(payload, send)


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
    item: WorkItem | None = None
    # The submitter's context (its request id reaches the stage call's log lines/metadata).
    context: contextvars.Context = field(default_factory=contextvars.copy_context)


async def _execute(work: _Work) -> None:
    """Run one call and settle its future; cancelling the future cancels the call."""
    work.context.run(_MEMBER.set, _MEMBER.get())  # the batch this call belongs to, if any
    task = asyncio.create_task(work.call(), context=work.context)
    work.future.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:  # the dispatcher is closing
        task.cancel()
        work.future.cancel()
        raise
    if work.future.done():
        return
    if task.cancelled():
        work.future.cancel()
    elif (exc := task.exception()) is not None:
        work.future.set_exception(exc)
    else:
        work.future.set_result(task.result())


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
        self.in_flight += 1
        self._publish()
        try:
            await _execute(work)
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
    ) -> None:
        self.queues = {s: StageQueue(s, concurrency[s], max_queue, metrics) for s in Stage}

    async def run(self, stage: Stage, job_id: str, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run `call` through the stage's queue."""
        result: T = await self.queues[stage].run(job_id, call)
        return result

    async def close(self) -> None:
        """Stop every stage's workers."""
        await asyncio.gather(*(q.close() for q in self.queues.values()))


@dataclass
class _ActiveBatch:
    """The batch of one leased stage being run while leases do not all fit."""

    stage: Stage
    todo: deque[_Work]
    reason: str


class LeaseAwareDispatcher:
    """Per-stage bounded queues and concurrency limits, with one scheduler task.

    While the leased stages' footprints (from the arbiter's ledger) fit the budget together,
    every stage drains its queue FIFO up to its concurrency, overlapping as `FifoDispatcher`
    does. When they do not, leased stages run one batch at a time: `choose_next_batch`
    picks the stage (resident first, age bound, then the biggest queue) and the batch's
    calls run before the next choice, so a stage's queued work is finished while it is
    resident. Stages that need no lease are never held back, and nothing is held while a
    batch waits for its lease, so no job's work waits on another stage's lease.
    """

    def __init__(
        self,
        concurrency: dict[Stage, int],
        max_queue: int,
        metrics: OrchestratorMetrics,
        view: LeaseView,
        policy: BatchPolicy | None = None,
        max_batch: int = 8,
        recheck_seconds: float = 0.25,
        grouped: frozenset[Stage] = frozenset({Stage.SHAPE}),
    ) -> None:
        self._concurrency = concurrency
        self._max_queue = max_queue
        self._metrics = metrics
        self._view = view
        self._policy = policy or BatchPolicy()
        self._max_batch = max_batch
        self._recheck = recheck_seconds
        self._grouped = grouped
        self._pending: dict[Stage, deque[_Work]] = {s: deque() for s in Stage}
        self._running: dict[Stage, set[asyncio.Task[None]]] = {s: set() for s in Stage}
        self._batch: _ActiveBatch | None = None
        self._seq = 0
        self._wake = asyncio.Event()
        self._scheduler = asyncio.create_task(self._schedule(), name="lease-dispatch")

    def depth(self, stage: Stage) -> int:
        """Calls of `stage` waiting to start (queued or in the chosen batch)."""
        waiting = list(self._pending[stage])
        if self._batch is not None and self._batch.stage is stage:
            waiting += self._batch.todo
        return sum(1 for w in waiting if not w.future.done())

    def in_flight(self, stage: Stage) -> int:
        """Calls of `stage` running now."""
        return len(self._running[stage])

    async def run(self, stage: Stage, job_id: str, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Queue `call` (ResourceExhausted when the stage's queue is full); its result."""
        if self.depth(stage) >= self._max_queue:
            raise ResourceExhausted(
                f"{stage.value} queue is full ({self._max_queue} calls waiting)"
            )
        self._seq += 1
        work = _Work(job_id, call, asyncio.get_running_loop().create_future())
        work.item = WorkItem(job_id, self._seq, work.queued_at)
        self._pending[stage].append(work)
        self._publish(stage)
        self._wake.set()
        try:
            result: T = await work.future
        finally:
            self._wake.set()  # a cancelled call frees its place
        return result

    async def close(self) -> None:
        """Stop the scheduler, cancel running and queued calls."""
        await cancel_and_wait([self._scheduler])
        tasks = [t for running in self._running.values() for t in running]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for stage, pending in self._pending.items():
            while pending:
                pending.popleft().future.cancel()
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
        """One scheduling round: start every call the policy allows now."""
        for stage in Stage:
            self._drop_cancelled(stage)
        state = self._view.state()
        batched = not state.all_fit()
        self._metrics.dispatch_batched.set(1 if batched else 0)
        for stage in Stage:
            if not batched or not state.needs_lease(stage.value):
                self._fill(stage, self._pending[stage])
        if batched:
            self._run_batches(state)
        elif self._batch is not None:  # leases fit again: its calls go back to their queue
            self._pending[self._batch.stage].extendleft(reversed(self._batch.todo))
            self._batch = None

    def _fill(self, stage: Stage, source: deque[_Work]) -> None:
        """Start calls from `source` while the stage has free slots."""
        while source and len(self._running[stage]) < self._concurrency[stage]:
            work = source.popleft()
            if not work.future.done():
                self._start(stage, work)
        self._publish(stage)

    def _run_batches(self, state: LeaseState) -> None:
        leased = [s for s in Stage if state.needs_lease(s.value)]
        if self._batch is not None:
            self._fill(self._batch.stage, self._batch.todo)
            if self._batch.todo or self._running[self._batch.stage]:
                return
            self._batch = None
        if any(self._running[s] for s in leased):
            return  # calls started while leases fitted: let them finish first
        batch = self._choose(state, leased)
        if batch is None:
            return
        live = [w for w in batch.todo if not w.future.done()]
        if batch.stage in self._grouped and len(live) > 1:
            batch.todo.clear()
            self._start_group(batch.stage, live)
        else:
            self._fill(batch.stage, batch.todo)

    def _start_group(self, stage: Stage, works: list[_Work]) -> None:
        """Start a batch's calls at once as one CallGroup: a stage client that supports it
        (shape) sends them as one RPC, so the group takes the stage's slots together."""
        group = CallGroup(len(works))
        for work in works:
            member = _Member(group)
            token = _MEMBER.set(member)
            try:
                task = self._start(stage, work)  # the task copies the context: its member
            finally:
                _MEMBER.reset(token)
            task.add_done_callback(member.finished)
        self._publish(stage)

    def _choose(self, state: LeaseState, leased: list[Stage]) -> _ActiveBatch | None:
        views = [
            StageView(
                name=s.value,
                position=i,
                queue=[w.item for w in self._pending[s] if w.item is not None],
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
        chosen = {item.object_index for item in choice.items}
        picked = [
            w.item is not None and w.item.object_index in chosen for w in self._pending[stage]
        ]
        todo = deque(w for w, p in zip(self._pending[stage], picked, strict=True) if p)
        self._pending[stage] = deque(
            w for w, p in zip(self._pending[stage], picked, strict=True) if not p
        )
        self._batch = _ActiveBatch(stage, todo, choice.reason)
        self._metrics.dispatch_batches.labels(stage.value, choice.reason).inc()
        log.debug("batch of %d %s call(s) (%s)", len(todo), stage.value, choice.reason)
        return self._batch

    def _start(self, stage: Stage, work: _Work) -> asyncio.Task[None]:
        self._metrics.stage_queue_wait.labels(stage.value).observe(
            time.monotonic() - work.queued_at
        )
        task = asyncio.create_task(_execute(work), name=f"{stage.value}-call")
        self._running[stage].add(task)
        task.add_done_callback(lambda t: self._finished(stage, t))
        return task

    def _finished(self, stage: Stage, task: asyncio.Task[None]) -> None:
        self._running[stage].discard(task)
        self._publish(stage)
        self._wake.set()

    def _drop_cancelled(self, stage: Stage) -> None:
        if any(w.future.done() for w in self._pending[stage]):
            self._pending[stage] = deque(w for w in self._pending[stage] if not w.future.done())
            self._publish(stage)

    def _publish(self, stage: Stage) -> None:
        self._metrics.stage_queue_depth.labels(stage.value).set(self.depth(stage))
        self._metrics.stage_in_flight.labels(stage.value).set(len(self._running[stage]))
