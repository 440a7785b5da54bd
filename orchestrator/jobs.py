"""JobManager: accepts jobs, runs each under a supervisor task, answers status/list/watch/
cancel, finishes jobs (manifest, done event, metrics) and resumes unfinished ones at start."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from meshpipe.errors import (
    FailedPrecondition,
    MeshpipeError,
    NotFound,
    ResourceExhausted,
    Unavailable,
    preview,
    to_status,
)
from meshpipe.runtime import callctx
from meshpipe.runtime.memory import release_after
from meshpipe.runtime.tasks import cancel_and_wait
from orchestrator.artifacts import ArtifactStore
from orchestrator.disk import check_admission, human
from orchestrator.domain import (
    Artifact,
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
from orchestrator.retention import Retention
from orchestrator.run_queue import RunQueue
from orchestrator.settings import Limits, OrchestratorSettings
from orchestrator.store import JobStore
from orchestrator.validation import ValidImage, validate_image, validate_request

log = logging.getLogger(__name__)
MAX_ARTIFACT_ID_CHARS = 512
RETRY_AFTER_SECONDS = 5.0  # RetryInfo of a full queue


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
        self._queue = RunQueue(settings.max_running_jobs)
        self._recent_finishes: deque[float] = deque(maxlen=50)  # monotonic times
        self._retention: asyncio.Task[None] | None = None
        self._retention_sweeper = Retention(settings, store, artifacts, metrics, clock)
        self._submitting: dict[tuple[str, str], asyncio.Lock] = {}
        self._expired: set[str] = set()  # jobs stopped by their time limit

    @property
    def limits(self) -> Limits:
        """What a submission may ask for."""
        return self._settings.limits

    # ----------------------------------------------------------------- submission
    async def submit(self, request: JobRequest) -> str:
        """Validate, store the input, announce acceptance and start the job; its id. A
        request id seen before from the same owner returns that job's id instead."""
        if not request.request_id:
            return (await self._submit(request)).job_id
        key = (request.owner, request.request_id)
        lock = self._submitting.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                existing = await self._store.job_for_request(*key)
                if existing is not None:
                    log.info("request id %s: attaching to job %s", preview(key[1]), existing)
                    return existing
                return (await self._submit(request)).job_id
        finally:
            if not lock.locked():
                self._submitting.pop(key, None)

    async def _submit(self, request: JobRequest) -> ActiveJob:
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
        await asyncio.to_thread(self._check_disk)
        # A finishing job (its done event is out or about to be) no longer takes a place: a
        # client that resubmits on `done` must not be refused for its own finished job.
        unfinished = sum(1 for j in self._jobs.values() if not j.finishing)
        if unfinished + self._admitting >= self._settings.max_queued_jobs:
            hint, retry_after = self._retry_hint()
            raise ResourceExhausted(
                f"the queue is full: {unfinished} unfinished jobs, the limit is "
                f"{self._settings.max_queued_jobs} (max_queued_jobs); {hint}",
                retry_after=retry_after,
            )
        self._admitting += 1
        try:
            valid = await asyncio.to_thread(validate_image, request.image, limits)
            # Shielded: once stored, a job starts even if its client went away meanwhile.
            admission = asyncio.ensure_future(self._admit(request, valid))
            return await asyncio.shield(admission)
        finally:
            self._admitting -= 1

    def _retry_hint(self) -> tuple[str, float]:
        """When a refused client might retry, in words and seconds (RetryInfo): the time the
        queue ahead needs at the rate jobs finished recently."""
        finishes = self._recent_finishes
        if len(finishes) < 2 or finishes[-1] <= finishes[0]:
            return "retry later", RETRY_AFTER_SECONDS
        rate = (len(finishes) - 1) / (finishes[-1] - finishes[0])
        wait = max(1, round((len(self._queue) + 1) / rate))
        return f"retry in about {wait} s (jobs finish at {rate:.2f}/s lately)", float(wait)

    def _check_disk(self) -> None:
        free = check_admission(self._artifacts.root, int(self._settings.min_free_bytes))
        self._metrics.output_free_bytes.set(free)

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
        try:
            source = await asyncio.to_thread(write, job_id, f"input.{ext}", request.image, "input")
        except BaseException:
            await asyncio.to_thread(self._artifacts.remove_job, job_id)  # no half-made folder
            raise
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
            owner=request.owner,
            request_id=request.request_id,
            trace_id=callctx.current_request_id(),
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
        """Run the job, then always end it in a final state with its reason: whatever goes
        wrong (a bug, a full disk) the job gets its `done` event. Only a shutdown escapes
        (the job then resumes at the next start)."""
        if job.record.trace_id:  # this task's context: every log line of the job carries it
            callctx.request_id_var.set(job.record.trace_id)
        timer = self._time_limit(job)
        try:
            state, error = await self._execute(job)
        except asyncio.CancelledError:
            if not job.cancel_requested:  # shutting down: the job resumes at the next start
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            state, error = await self._stopped(job)
        except Exception as exc:  # a bug or a full disk: the job fails visibly, the server goes on
            code, error, expected = to_status(exc)
            log.error("job %s failed: %s", job.job_id, error, exc_info=None if expected else exc)
            state = JobState.FAILED
            await self._end_pending(job, code.name, error, ObjectStatus.FAILED)
        finally:
            if timer is not None:
                timer.cancel()
        job.finishing = True
        await self._finish(job, state, error)

    def _time_limit(self, job: ActiveJob) -> asyncio.TimerHandle | None:
        """Arm the job's time limit (counted from its submission), if it has one."""
        limit = job.record.options.time_limit_seconds
        if limit <= 0:
            return None
        left = max(0.0, job.record.created_at + limit - self._clock())
        return asyncio.get_running_loop().call_later(left, self._expire, job)

    def _expire(self, job: ActiveJob) -> None:
        task = self._tasks.get(job.job_id)
        if task is None or job.cancel_requested or job.finishing:
            return
        log.info("job %s: time limit of %gs reached; stopping it", job.job_id, _limit(job))
        self._expired.add(job.job_id)
        job.cancel_requested = True
        task.cancel()

    async def _stopped(self, job: ActiveJob) -> tuple[JobState, str]:
        """After a cancel or the time limit: end the pending objects; (state, error)."""
        expired = job.job_id in self._expired
        self._expired.discard(job.job_id)
        if expired:
            message = f"time limit of {_limit(job):g}s exceeded; the job was stopped"
            code, state, status = "DEADLINE_EXCEEDED", JobState.FAILED, ObjectStatus.FAILED
        else:
            message = "job cancelled"
            code, state, status = "CANCELLED", JobState.CANCELLED, ObjectStatus.CANCELLED
        await self._end_pending(job, code, message, status)
        return state, message if expired else ""

    async def _end_pending(
        self, job: ActiveJob, code: str, message: str, status: ObjectStatus
    ) -> None:
        """Mark every unfinished object (after the commits in progress), as far as possible."""
        await job.drain()
        for obj in job.pending_objects():
            try:
                await job.fail_object(obj, code, message, status)
            except Exception as exc:  # the store itself fails: the job still ends
                log.error("job %s object %d not marked: %s", job.job_id, obj.index, exc)

    async def _execute(self, job: ActiveJob) -> tuple[JobState, str]:
        async with self._queue.slot(job):
            job.record.state = JobState.RUNNING
            await job.save()
            self._publish()
            try:
                await self._pipeline.run(job)
            except JobFailed as exc:
                return JobState.FAILED, str(exc)
        return outcome(job.record)

    async def _finish(self, job: ActiveJob, state: JobState, error: str) -> None:
        """Manifest, final record, metrics, then the `done` event. Never raises: a step that
        fails (full disk) is logged and noted in the job's error, and the rest still runs."""
        r = job.record
        r.state, r.error, r.finished_at = state, error, self._clock()
        objects = [job.objects[i] for i in sorted(job.objects)]
        try:
            data = manifest_bytes(r, objects)
            r.manifest = await job.write(
                "manifest.json", data, "manifest", replace=True, essential=True
            )
        except Exception as exc:
            r.error = _joined(r.error, f"manifest not written: {to_status(exc)[1]}")
            log.error("job %s: manifest not written: %s", r.job_id, exc)
        await self._persist_final(job)
        total = r.finished_at - r.created_at
        self._recent_finishes.append(time.monotonic())
        self._metrics.jobs.labels(state.value).inc()
        self._metrics.job_seconds.labels(state.value).observe(total)
        for obj in objects:
            self._metrics.objects.labels(obj.status.value).inc()
        self._publish()
        done = JobDone(
            summary=JobSummary.of(r),
            manifest=r.manifest,
            total_seconds=total,
            scene=r.scene,
            contact_sheet=r.contact_sheet,
        )
        try:
            await job.emit(done)  # followers get it even if storing it fails
        except Exception as exc:
            log.error("job %s: done event not stored: %s", r.job_id, exc)
        log.info(
            "job %s %s in %.1fs%s", r.job_id, state.value, total, f": {r.error}" * bool(r.error)
        )
        await asyncio.to_thread(release_after, r.image_width * r.image_height)

    async def _persist_final(self, job: ActiveJob) -> None:
        for attempt in range(3):  # a full store may recover as other writes clean up
            try:
                await job.save()
                return
            except Exception as exc:
                log.error("job %s: final state not stored (try %d): %s", job.job_id, attempt, exc)
                await asyncio.sleep(0.5 * (attempt + 1))

    def _publish(self) -> None:
        for state in (JobState.QUEUED, JobState.RUNNING):
            n = sum(1 for j in self._jobs.values() if j.record.state is state)
            self._metrics.jobs_in_progress.labels(state.value).set(n)

    # ----------------------------------------------------------------- queries
    async def _record(
        self, job_id: str, owner: str | None = None
    ) -> tuple[JobRecord, list[ObjectRecord]]:
        job = self._jobs.get(check_job_id(job_id))
        if job is not None:
            record, objects = job.record, [job.objects[i] for i in sorted(job.objects)]
        else:
            found = await self._store.job(job_id)
            if found is None:
                raise NotFound(f"no job {job_id!r}")
            record, objects = found, await self._store.objects(job_id)
        if owner is not None and record.owner != owner:
            raise NotFound(f"no job {job_id!r}")  # the same answer as for no job at all
        return record, objects

    async def get(self, job_id: str, owner: str | None = None) -> JobView:
        """Summary, results and errors of a job (NotFound unless `owner` owns it, when
        given)."""
        record, objects = await self._record(job_id, owner)
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

    async def list(
        self,
        owner: str,
        limit: int,
        states: list[JobState] | None = None,
        after: tuple[float, str] | None = None,
    ) -> list[JobSummary]:
        """`owner`'s jobs newest first, in `states` (all when empty), after the cursor
        (created_at, job_id); live state for jobs of this process."""
        names = [s.value for s in states or ()]
        records = await self._store.jobs_page(owner, names, after, limit)
        return [
            JobSummary.of(self._jobs[r.job_id].record if r.job_id in self._jobs else r)
            for r in records
        ]

    async def watch(
        self, job_id: str, from_sequence: int = 0, owner: str | None = None
    ) -> AsyncIterator[JobEvent]:
        """Replay a job's events from `from_sequence`, then follow it until it ends."""
        if owner is not None:
            await self._record(job_id, owner)
        job = self._jobs.get(check_job_id(job_id))
        if job is not None:
            async for event in job.log.follow(from_sequence):
                yield event
            return
        if await self._store.job(job_id) is None:
            raise NotFound(f"no job {job_id!r}")
        for event in (await self._store.events(job_id))[from_sequence:]:
            yield event

    async def artifact(self, artifact_id: str, owner: str | None = None) -> tuple[Path, Artifact]:
        """Where a registered artifact lives and its record (NotFound for anything else,
        and for another owner's artifact)."""
        found = None
        if len(artifact_id) <= MAX_ARTIFACT_ID_CHARS:
            found = await self._store.artifact(artifact_id)
        if found is None:
            raise NotFound(f"no artifact {preview(artifact_id)}")
        job_id, artifact = found
        if owner is not None:
            try:
                await self._record(job_id, owner)
            except NotFound:
                raise NotFound(f"no artifact {preview(artifact_id)}") from None
        return self._artifacts.path(job_id, artifact.relative_path), artifact

    # ----------------------------------------------------------------- control
    async def cancel(self, job_id: str, owner: str | None = None) -> JobState:
        """Cancel a job (queued or running) and wait until it has ended; its final state."""
        if owner is not None:
            await self._record(job_id, owner)
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

    async def delete(self, job_id: str) -> int:
        """Delete a finished job: its rows and its folder; the bytes freed."""
        if check_job_id(job_id) in self._jobs:
            raise FailedPrecondition(f"job {job_id} has not finished; cancel it first")
        if await self._store.job(job_id) is None:
            raise NotFound(f"no job {job_id!r}")
        freed = await self._retention_sweeper.delete(job_id, "request")
        log.info("job %s deleted on request (%s freed)", job_id, human(freed))
        return freed

    async def sweep(self) -> int:
        """Delete finished jobs older than the retention age now; how many."""
        return await self._retention_sweeper.sweep(lambda job_id: job_id in self._jobs)

    def start_retention(self) -> None:
        """Start the periodic retention sweep (stopped by close())."""
        if self._retention is None and self._settings.retention_seconds > 0:
            self._retention = asyncio.create_task(self._run_retention(), name="retention")

    async def _run_retention(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:
                log.error("retention sweep failed: %s", exc, exc_info=exc)
            await asyncio.sleep(self._settings.retention_sweep_seconds)

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
        if self._retention is not None:
            await cancel_and_wait([self._retention])
        jobs, tasks = list(self._jobs.values()), list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(job.drain() for job in jobs))
        for job in jobs:
            job.log.close()
        if jobs:
            log.info("%d unfinished job(s) left to resume at the next start", len(jobs))


def _limit(job: ActiveJob) -> float:
    return job.record.options.time_limit_seconds


def _joined(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second


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
