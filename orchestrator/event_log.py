"""A job's event log: numbered, persisted, and followed live by any number of watchers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from meshpipe.errors import Unavailable
from orchestrator.events import JobDone, JobEvent, Payload

Persist = Callable[[JobEvent], Awaitable[None]]


class EventLog:
    """Events of one job. `append` numbers an event, publishes it, then persists it.

    Numbers are assigned synchronously on the event loop and persisted in submission order,
    so the stored log has no gaps even if the process dies mid-job.
    """

    def __init__(self, job_id: str, persist: Persist, history: list[JobEvent] | None = None):
        self.job_id = job_id
        self._persist = persist
        self._events: list[JobEvent] = list(history or [])
        self._changed = asyncio.Event()
        self._closed = False

    @property
    def events(self) -> list[JobEvent]:
        """Events so far (a copy)."""
        return list(self._events)

    @property
    def done(self) -> bool:
        """True once the final event was appended."""
        return bool(self._events) and isinstance(self._events[-1].payload, JobDone)

    async def append(self, payload: Payload) -> JobEvent:
        """Add an event; returns it with its sequence number."""
        if self.done:
            raise RuntimeError(f"job {self.job_id} already ended")
        event = JobEvent(job_id=self.job_id, sequence=len(self._events), payload=payload)
        self._events.append(event)
        self._changed.set()
        self._changed = asyncio.Event()
        await self._persist(event)
        return event

    def close(self) -> None:
        """The process is stopping before the job ended: followers get Unavailable."""
        self._closed = True
        self._changed.set()

    async def follow(self, from_sequence: int = 0) -> AsyncIterator[JobEvent]:
        """Replay from `from_sequence`, then yield new events until the job's last one."""
        position = from_sequence
        while True:
            while position < len(self._events):
                event = self._events[position]
                position += 1
                yield event
                if isinstance(event.payload, JobDone):
                    return
            if self.done:
                return
            if self._closed:
                raise Unavailable(
                    f"orchestrator is stopping; job {self.job_id} resumes when it is back: "
                    f"re-attach with WatchJob(from_sequence={position})"
                )
            await self._changed.wait()
