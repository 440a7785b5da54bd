"""JobManager: accepts jobs, runs each under a supervisor task, answers status/list/watch/
cancel, finishes jobs (manifest, done event, metrics) and resumes unfinished ones at start."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from meshpipe.errors import MeshpipeError, NotFound, ResourceExhausted, Unavailable, to_status
from orchestrator.artifacts import ArtifactStore
from orchestrator.domain import (
    JobRecord,
    JobRequest,
    JobState,
    JobSummary,
    ObjectRecord,
    ObjectStatus,
)
from orchestrator.event_log import EventLog
from orchestrator.events import (
    JobAccepted,
    JobDone,
    JobEvent,
    ObjectError,
    ObjectResult,
    ObjectSkipped,
)
from orchestrator.ids import check_job_id, new_job_id
from orchestrator.job import ActiveJob
from orchestrator.manifest import manifest_bytes
from orchestrator.metrics import OrchestratorMetrics
from orchestrator.pipeline import JobFailed, JobPipeline
from orchestrator.quality import apply_quality
from orchestrator.settings import OrchestratorSettings
from orchestrator.store import JobStore
from orchestrator.validation import ValidImage, validate_image, validate_request

log = logging.getLogger(__name__)
MAX_ARTIFACT_ID_CHARS = 512


@dataclass(frozen=True)
class JobView:
    """A job's summary and the outcome of its objects so far."""

    summary: JobSummary
    results: list[ObjectResult]
    errors: list[ObjectError]
    skipped: list[ObjectSkipped]


class JobManager:
    """Owns every unfinished job of this process."""

    def __init__(
        self,
        settings: OrchestratorSettings,
        store: JobStore,
        artifacts: ArtifactStore,
        pipeline: JobPipeline,
        metrics: OrchestratorMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._artifacts = artifacts
        self._pipeline = pipeline
        self._metrics = metrics
        self._clock = clock
        self._jobs: dict[str, ActiveJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._admitting = 0
        self._draining = False
        self._running = asyncio.Semaphore(settings.max_running_jobs)

    # ----------------------------------------------------------------- submission
    async def submit(self, request: JobRequest) -> ActiveJob:
        """Validate, store the input, announce acceptance and start the job."""
        try:
            job = await self._accept(request)
        except MeshpipeError as exc:
            self._metrics.submissions.labels(exc.code.name).inc()
            raise
        self._metrics.submissions.labels("OK").inc()
        return job

    async def _accept(self, request: JobRequest) -> ActiveJob:
        if self._draining:
            raise Unavailable("orchestrator is shutting down; submit to another replica or retry")
        limits = self._settings.limits
        request.options = apply_quality(request.options, request.options.quality)
        validate_request(request, limits)
        if len(self._jobs) + self._admitting >= self._settings.max_queued_jobs:
            raise ResourceExhausted(
                f"too many unfinished jobs ({self._settings.max_queued_jobs}); retry later"
            )
        self._admitting += 1
        try:
            valid = await asyncio.to_thread(validate_image, request.image, limits)
            # Shielded: once stored, a job starts even if its client went away meanwhile.
            admission = asyncio.ensure_future(self._admit(request, valid))
            return await asyncio.shield(admission)
        finally:
            self._admitting -= 1

    async def _admit(self, request: JobRequest, valid: ValidImage) -> ActiveJob:
        record = await self._create(request, valid.extension, *valid.image.size)
        job_log = EventLog(record.job_id, self._store.append_event)
        job = ActiveJob(record, [], job_log, self._store, self._artifacts)
        await job.emit(_accepted(record))
        self._start(job)
        return job

    async def _create(self, request: JobRequest, ext: str, width: int, height: int) -> JobRecord:
        now = self._clock()
        job_id = new_job_id(now)
        while await asyncio.to_thread(self._artifacts.job_dir(job_id).exists):
            job_id = new_job_id(now)
        limits, o = self._settings.limits, request.options
        options = o.model_copy(
            update={
                "seed": request.seed if request.seed is not None else secrets.randbits(32),
                "max_objects": min(o.max_objects or limits.default_max_objects, limits.max_objects),
                "crop_padding": o.crop_padding or self._settings.crop_padding,
            }
        )
        write = self._artifacts.write
        source = await asyncio.to_thread(write, job_id, f"input.{ext}", request.image, "input")
        record = JobRecord(
            job_id=job_id,
            name=request.name,
            prompt=request.prompt,
            options=options,
            created_at=now,
            image_width=width,
            image_height=height,
            input=source,
            output_dir=str(self._artifacts.job_dir(job_id).resolve()),
        )
        await self._store.add_artifact(job_id, source)
        await self._store.save_job(record)
        return record

    # ----------------------------------------------------------------- supervision
    def _start(self, job: ActiveJob) -> None:
        self._jobs[job.job_id] = job
        task = asyncio.create_task(self._supervise(job), name=f"job-{job.job_id}")
        self._tasks[job.job_id] = task
        task.add_done_callback(lambda t: self._forget(job.job_id, t))
        self._publish()

    def _forget(self, job_id: str, task: asyncio.Task[None]) -> None:
        self._jobs.pop(job_id, None)
        self._tasks.pop(job_id, None)
        self._publish()
        if not task.cancelled() and task.exception() is not None:
            log.error("job %s: supervisor crashed", job_id, exc_info=task.exception())

    async def _supervise(self, job: ActiveJob) -> None:
        try:
            state, error = await self._execute(job)
        except asyncio.CancelledError:
            if not job.cancel_requested:  # shutting down: the job resumes at the next start
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            state, error = JobState.CANCELLED, ""
            await job.drain()
            for obj in job.pending_objects():
                await job.fail_object(obj, "CANCELLED", "job cancelled", ObjectStatus.CANCELLED)
        except Exception as exc:  # a bug: the job fails visibly, the server carries on
            _, error, _ = to_status(exc)
            log.error("job %s failed unexpectedly: %s", job.job_id, error, exc_info=exc)
            state = JobState.FAILED
        job.finishing = True
        await self._finish(job, state, error)

    async def _execute(self, job: ActiveJob) -> tuple[JobState, str]:
        async with self._running:
            job.record.state = JobState.RUNNING
            await job.save()
            self._publish()
            try:
                await self._pipeline.run(job)
            except JobFailed as exc:
                return JobState.FAILED, str(exc)
        return outcome(job.record)

    async def _finish(self, job: ActiveJob, state: JobState, error: str) -> None:
        r = job.record
        r.state, r.error, r.finished_at = state, error, self._clock()
        objects = [job.objects[i] for i in sorted(job.objects)]
        data = manifest_bytes(r, objects)
        r.manifest = await job.write("manifest.json", data, "manifest", replace=True)
        await job.save()
        total = r.finished_at - r.created_at
        self._metrics.jobs.labels(state.value).inc()
        self._metrics.job_seconds.labels(state.value).observe(total)
        for obj in objects:
            self._metrics.objects.labels(obj.status.value).inc()
        self._publish()
        await job.emit(
            JobDone(
                summary=JobSummary.of(r),
                manifest=r.manifest,
                total_seconds=total,
                scene=r.scene,
                contact_sheet=r.contact_sheet,
            )
        )
        log.info("job %s %s in %.1fs", r.job_id, state.value, total)

    def _publish(self) -> None:
        for state in (JobState.QUEUED, JobState.RUNNING):
            n = sum(1 for j in self._jobs.values() if j.record.state is state)
            self._metrics.jobs_in_progress.labels(state.value).set(n)

    # ----------------------------------------------------------------- queries
    async def _record(self, job_id: str) -> tuple[JobRecord, list[ObjectRecord]]:
        job = self._jobs.get(check_job_id(job_id))
        if job is not None:
            return job.record, [job.objects[i] for i in sorted(job.objects)]
        record = await self._store.job(job_id)
        if record is None:
            raise NotFound(f"no job {job_id!r}")
        return record, await self._store.objects(job_id)

    async def get(self, job_id: str) -> JobView:
        """Summary, results and errors of a job."""
        record, objects = await self._record(job_id)
        scene, target = record.scene, record.options.target_faces
        return JobView(
            summary=JobSummary.of(record),
            results=[
                ObjectResult.of(o, scene, target)
                for o in objects
                if o.status is ObjectStatus.SUCCEEDED
            ],
            errors=[ObjectError.of(o) for o in objects if o.failure is not None],
            skipped=[ObjectSkipped.of(o) for o in objects if o.skip is not None],
        )

    async def list(self, limit: int) -> list[JobSummary]:
        """Newest jobs first (live state for jobs of this process)."""
        records = await self._store.jobs(limit)
        return [
            JobSummary.of(self._jobs[r.job_id].record if r.job_id in self._jobs else r)
            for r in records
        ]

    async def watch(self, job_id: str, from_sequence: int = 0) -> AsyncIterator[JobEvent]:
        """Replay a job's events from `from_sequence`, then follow it until it ends."""
        job = self._jobs.get(check_job_id(job_id))
        if job is not None:
            async for event in job.log.follow(from_sequence):
                yield event
            return
        if await self._store.job(job_id) is None:
            raise NotFound(f"no job {job_id!r}")
        for event in (await self._store.events(job_id))[from_sequence:]:
            yield event

    async def artifact_path(self, artifact_id: str) -> Path:
        """Where a registered artifact lives (NotFound for anything else)."""
        found = None
        if len(artifact_id) <= MAX_ARTIFACT_ID_CHARS:
            found = await self._store.artifact(artifact_id)
        if found is None:
            raise NotFound(f"no artifact {artifact_id[:80]!r}")
        job_id, artifact = found
        return self._artifacts.path(job_id, artifact.relative_path)

    # ----------------------------------------------------------------- control
    async def cancel(self, job_id: str) -> JobState:
        """Cancel a job (queued or running) and wait until it has ended; its final state."""
        job = self._jobs.get(check_job_id(job_id))
        if job is None:
            record, _ = await self._record(job_id)
            return record.state
        task = self._tasks[job_id]
        if not job.cancel_requested and not job.finishing:
            job.cancel_requested = True
            task.cancel()
        await asyncio.wait({task})
        return job.record.state

    async def resume(self) -> int:
        """Restart the unfinished jobs of the store; returns how many."""
        records = await self._store.unfinished_jobs()
        for record in records:
            events = await self._store.events(record.job_id)
            objects = await self._store.objects(record.job_id)
            record.state = JobState.QUEUED
            job_log = EventLog(record.job_id, self._store.append_event, events)
            job = ActiveJob(record, objects, job_log, self._store, self._artifacts)
            if not events:  # the process died between storing the job and announcing it
                await job.emit(_accepted(record))
            self._start(job)
            log.info("job %s resumed (%d events so far)", record.job_id, len(events))
        return len(records)

    async def drain(self, grace_seconds: float) -> None:
        """Refuse new jobs and give the running ones up to `grace_seconds` to finish."""
        self._draining = True
        tasks = list(self._tasks.values())
        if tasks and grace_seconds > 0:
            log.info("waiting up to %.0fs for %d job(s) to finish", grace_seconds, len(tasks))
            await asyncio.wait(tasks, timeout=grace_seconds)

    async def close(self) -> None:
        """Stop every unfinished job without finishing it (it resumes at the next start);
        the streams following it end with UNAVAILABLE."""
        self._draining = True
        jobs, tasks = list(self._jobs.values()), list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(job.drain() for job in jobs))
        for job in jobs:
            job.log.close()
        if jobs:
            log.info("%d unfinished job(s) left to resume at the next start", len(jobs))


def outcome(r: JobRecord) -> tuple[JobState, str]:
    """A run's final state from its object counts: skipped objects are neither successes
    nor failures, so a job whose every other object succeeded succeeded."""
    if r.objects_succeeded and r.objects_succeeded + r.objects_skipped == r.objects_total:
        return JobState.SUCCEEDED, ""
    if r.objects_succeeded:
        return JobState.PARTIAL, ""
    if r.objects_total and r.objects_skipped == r.objects_total:
        return JobState.FAILED, f"every object ({r.objects_total}) was skipped: nothing to model"
    return JobState.FAILED, ""


def _accepted(record: JobRecord) -> JobAccepted:
    return JobAccepted(
        image_width=record.image_width, image_height=record.image_height, seed=record.options.seed
    )
