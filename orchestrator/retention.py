"""Deleting finished jobs: on request (DeleteJob) and by age (the retention sweep)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from orchestrator.artifacts import ArtifactStore
from orchestrator.disk import free_bytes, human
from orchestrator.metrics import OrchestratorMetrics
from orchestrator.settings import OrchestratorSettings
from orchestrator.store import JobStore

log = logging.getLogger(__name__)


class Retention:
    """Removes jobs' rows and folders, counting what it freed."""

    def __init__(
        self,
        settings: OrchestratorSettings,
        store: JobStore,
        artifacts: ArtifactStore,
        metrics: OrchestratorMetrics,
        clock: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._store = store
        self._artifacts = artifacts
        self._metrics = metrics
        self._clock = clock

    async def delete(self, job_id: str, reason: str) -> int:
        """Delete one job's rows, then its folder; the bytes freed."""
        await self._store.delete_job(job_id)  # rows first: nothing points at missing files
        freed = await asyncio.to_thread(self._artifacts.remove_job, job_id)
        self._metrics.jobs_deleted.labels(reason).inc()
        self._metrics.deleted_bytes.labels(reason).inc(freed)
        return freed

    async def sweep(self, busy: Callable[[str], bool]) -> int:
        """Delete finished jobs older than `retention_seconds` (none that `busy`); how many."""
        retention = self._settings.retention_seconds
        if retention <= 0:
            return 0
        cutoff = self._clock() - retention
        expired = [j for j in await self._store.finished_before(cutoff) if not busy(j)]
        freed = 0
        for job_id in expired:
            try:
                freed += await self.delete(job_id, "retention")
            except Exception as exc:  # one stubborn folder does not stop the sweep
                log.error("retention: job %s not deleted: %s", job_id, exc)
        self._metrics.retention_sweeps.inc()
        free = await asyncio.to_thread(free_bytes, self._artifacts.root)
        self._metrics.output_free_bytes.set(free)
        log.info(
            "retention sweep: %d job(s) finished over %.0fs ago deleted, %s freed, %s free",
            len(expired),
            retention,
            human(freed),
            human(free),
        )
        return len(expired)
