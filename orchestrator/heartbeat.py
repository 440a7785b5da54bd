"""Heartbeat events on a job stream: while a job runs and no event came for `interval`
seconds, the stream gets a Heartbeat, so that clients and proxies see it alive during long
stages. Heartbeats are not stored and do not advance the stream: they carry the sequence
number of the last event sent (a client resuming from `sequence + 1` misses nothing)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from meshpipe.v1 import orchestrator_pb2 as pb


async def with_heartbeats(
    events: AsyncIterator[pb.JobEvent],
    job_id: str,
    created_at: float,
    interval: float,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[pb.JobEvent]:
    """`events`, with a Heartbeat after every `interval` seconds without one."""
    sequence = 0
    pending: asyncio.Future[pb.JobEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                beat = pb.Heartbeat(elapsed_seconds=max(0.0, clock() - created_at))
                yield pb.JobEvent(job_id=job_id, sequence=sequence, heartbeat=beat)
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            sequence = event.sequence
            yield event
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
