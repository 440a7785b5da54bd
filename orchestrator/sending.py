"""How a stage request goes out and how its caller gets the answer.

A `Work` is one queued `(stage, request)` item of a job (`JobKey`) with the future its caller
awaits. A `Sender` knows how to send one stage's requests: `send_one`, and for a stage that
takes a list in one call (shape's `GenerateShapeBatch`) `send_many`. `send_one_item` and
`send_batch` run a send and settle the futures; cancelling every caller of a send cancels it.
The dispatcher (`orchestrator/dispatch.py`) decides when a request goes and with which
others; the stage clients (`orchestrator/stages.py`) provide the senders.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshpipe.errors import MeshpipeError
from orchestrator.policy import WorkItem


@dataclass(frozen=True)
class Sender:
    """How one stage's requests go out. `send_many` (optional) sends a batch as one call
    and returns, in order, each request's result or the exception it failed with."""

    send_one: Callable[[Any], Awaitable[Any]]
    send_many: Callable[[list[Any]], Awaitable[Sequence[Any]]] | None = None


async def _call(request: Any) -> Any:
    return await request()


# The sender of stages nobody registered one for: the request is a zero-argument coroutine
# function, called as it is (tests, and callers with a closure to run under the policy).
CALLS = Sender(_call)


@dataclass(frozen=True)
class JobKey:
    """The job a request belongs to, as the scheduler ranks it: `since` (when the job was
    created, any clock shared by the jobs) and its number of objects (1 while unknown)."""

    job_id: str
    since: float = 0.0
    objects: int = 1


def job_key(job: str | JobKey) -> JobKey:
    """A bare job id ranks as a job created now."""
    return job if isinstance(job, JobKey) else JobKey(job, time.time())


@dataclass(eq=False)
class Work:
    """One queued request of a job, and the future its caller awaits."""

    job: JobKey
    request: Any
    future: asyncio.Future[Any]
    seq: int = 0  # dispatch sequence number, unique among queued items
    queued_at: float = field(default_factory=time.monotonic)
    # The submitter's context: its request id reaches the stage call's log lines and metadata.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)

    def item(self) -> WorkItem:
        """The request as the batching policy sees it."""
        j = self.job
        return WorkItem(j.job_id, self.seq, self.queued_at, j.since, j.objects)


def _settle(future: asyncio.Future[Any], outcome: Any) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


async def _send(works: list[Work], send: Callable[[], Awaitable[Any]], many: bool) -> None:
    """Run one send for `works` and settle their futures. Cancelling a member's future
    cancels the send once no member waits on it any more."""

    # A batch runs in its first member's context (its request id goes on the call).
    async def run() -> Any:
        return await send()

    task = asyncio.get_running_loop().create_task(run(), context=works[0].context)

    def forget(_f: asyncio.Future[Any]) -> None:
        if all(w.future.cancelled() for w in works) and not task.done():
            task.cancel()

    for w in works:
        w.future.add_done_callback(forget)
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:  # the dispatcher is closing
        task.cancel()
        for w in works:
            w.future.cancel()
        raise
    if task.cancelled():
        for w in works:
            w.future.cancel()
    elif (exc := task.exception()) is not None:  # the whole call failed: every member fails
        for w in works:
            _settle(w.future, exc)
    elif not many:
        _settle(works[0].future, task.result())
    else:
        _settle_many(works, task.result())


def _settle_many(works: list[Work], results: Sequence[Any]) -> None:
    if len(results) != len(works):
        error = MeshpipeError(f"a batch of {len(works)} requests got {len(results)} answers")
        for w in works:
            _settle(w.future, error)
        return
    for w, outcome in zip(works, results, strict=True):
        _settle(w.future, outcome)


async def send_one_item(sender: Sender, work: Work) -> None:
    """Send one request; its future gets the result."""
    await _send([work], lambda: sender.send_one(work.request), many=False)


async def send_batch(
    send_many: Callable[[list[Any]], Awaitable[Sequence[Any]]], works: list[Work]
) -> None:
    """Send a batch as one call; each future gets its own outcome."""
    await _send(works, lambda: send_many([w.request for w in works]), many=True)
