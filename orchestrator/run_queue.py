"""The queue of jobs waiting for a running slot: first come, first served, and each waiting
job is told its position (JobQueued events) when it starts waiting and as it moves up.

Positions are announced when they change, thinned out far from the head so that a long
queue costs O(log n) events per job, not O(n): every change while the position is below
`EXACT_BELOW`, otherwise only when it dropped by at least `STEP_FRACTION` since the last
announcement.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from orchestrator.events import JobQueued
from orchestrator.job import ActiveJob

log = logging.getLogger(__name__)
EXACT_BELOW = 16
STEP_FRACTION = 0.1


class RunQueue:
    """`slots` jobs run at once; the others wait here in arrival order."""

    def __init__(self, slots: int) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._waiting: dict[str, ActiveJob] = {}  # insertion order = wake order (FIFO)
        self._told: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def position(self, job_id: str) -> int | None:
        """Jobs ahead of a waiting job (None if it is not waiting)."""
        for i, waiting in enumerate(self._waiting):
            if waiting == job_id:
                return i
        return None

    @asynccontextmanager
    async def slot(self, job: ActiveJob) -> AsyncIterator[None]:
        """Wait for a running slot (announcing the position), hold it for the body."""
        if self._slots.locked():
            self._waiting[job.job_id] = job
            try:
                await self._tell(job, len(self._waiting) - 1)
                await self._slots.acquire()
            finally:
                self._waiting.pop(job.job_id, None)
                self._told.pop(job.job_id, None)
            await self._moved_up()
        else:
            await self._slots.acquire()
        try:
            yield
        finally:
            self._slots.release()

    async def _moved_up(self) -> None:
        for position, job in enumerate(list(self._waiting.values())):
            last = self._told.get(job.job_id)
            if last is None or position == last:
                continue
            if position < EXACT_BELOW or position <= last * (1 - STEP_FRACTION):
                await self._tell(job, position)

    async def _tell(self, job: ActiveJob, position: int) -> None:
        if job.job_id not in self._waiting or job.cancel_requested or job.log.done:
            return
        self._told[job.job_id] = position
        try:
            await job.emit(JobQueued(position=position))
        except Exception as exc:  # a position is advice: never fail a job over it
            log.warning("job %s: queue position not stored: %s", job.job_id, exc)
