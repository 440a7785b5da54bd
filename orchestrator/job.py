"""A job being worked on: its record, objects and event log, kept in step with the store."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from orchestrator.artifacts import ArtifactStore
from orchestrator.domain import (
    Artifact,
    JobRecord,
    ObjectFailure,
    ObjectRecord,
    ObjectSkip,
    ObjectStatus,
    Stage,
    StageRun,
)
from orchestrator.event_log import EventLog
from orchestrator.events import ObjectError, ObjectProgress, ObjectResult, ObjectSkipped, Payload
from orchestrator.store import JobStore

PIPELINE = (Stage.MATTING, Stage.SHAPE, Stage.TEXTURE)
T = TypeVar("T")


class ActiveJob:
    """Mutations of a running job; each one is persisted before the next step relies on it."""

    def __init__(
        self,
        record: JobRecord,
        objects: list[ObjectRecord],
        log: EventLog,
        store: JobStore,
        artifacts: ArtifactStore,
    ) -> None:
        self.record = record
        self.objects = {o.index: o for o in objects}
        self.log = log
        self._store = store
        self._artifacts = artifacts
        self.cancel_requested = False
        self.finishing = False
        self._commits: set[asyncio.Future[Any]] = set()

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self.record.job_id

    async def commit(self, step: Coroutine[Any, Any, T]) -> T:
        """Run a persisting step (write an output, save records, announce it) to completion even
        if the caller is cancelled, so that files, records and events never disagree."""
        task = asyncio.ensure_future(step)
        self._commits.add(task)
        task.add_done_callback(self._commits.discard)
        return await asyncio.shield(task)

    async def drain(self) -> None:
        """Wait for the commits in progress (before cancelling the rest or shutting down)."""
        while self._commits:
            await asyncio.gather(*self._commits, return_exceptions=True)

    async def emit(self, payload: Payload) -> None:
        """Append an event to the job's stream."""
        await self.log.append(payload)

    async def save(self) -> None:
        """Persist the job record."""
        await self._store.save_job(self.record)

    async def save_object(self, obj: ObjectRecord) -> None:
        """Persist one object's record."""
        self.objects[obj.index] = obj
        await self._store.save_object(self.job_id, obj)

    async def write(
        self,
        relative_path: str,
        data: bytes,
        kind: str,
        *,
        replace: bool = False,
        essential: bool = False,
    ) -> Artifact:
        """Write an artifact into the job's folder and register it for download (`essential`:
        may use the space reserved for bookkeeping, see ArtifactStore.write)."""
        artifact = await asyncio.to_thread(
            self._artifacts.write,
            self.job_id,
            relative_path,
            data,
            kind,
            replace=replace,
            essential=essential,
        )
        await self._store.add_artifact(self.job_id, artifact)
        return artifact

    async def read(self, relative_path: str) -> bytes:
        """Read one of the job's files."""
        return await asyncio.to_thread(self._artifacts.read, self.job_id, relative_path)

    async def keep_output(
        self, obj: ObjectRecord, relative_path: str, data: bytes, kind: str, run: StageRun | None
    ) -> None:
        """Write an object's output, record it (and the stage run) and announce the stage's end.
        Committed: a cancellation cannot leave a file that the records do not know."""

        async def step() -> None:
            obj.artifacts.append(await self.write(relative_path, data, kind))
            if run is not None:
                obj.stages.append(run)
            await self.save_object(obj)
            if run is not None:
                await self.emit(
                    ObjectProgress(
                        index=obj.index, stage=run.stage, finished=True, seconds=run.seconds
                    )
                )

        await self.commit(step())

    async def succeed_object(self, obj: ObjectRecord) -> None:
        """Mark an object done and announce its result with the job's current scene
        (committed)."""

        async def step() -> None:
            obj.status = ObjectStatus.SUCCEEDED
            self.record.objects_succeeded += 1
            await self.save_object(obj)
            await self.save()
            r = self.record
            await self.emit(ObjectResult.of(obj, r.scene, r.options.target_faces))

        await self.commit(step())

    async def skip_object(self, obj: ObjectRecord, stage: Stage, reason: str) -> None:
        """Leave an object out without failing the job, and announce it (committed)."""

        async def step() -> None:
            obj.status = ObjectStatus.SKIPPED
            obj.skip = ObjectSkip(stage=stage, reason=reason)
            self.record.objects_skipped += 1
            await self.save_object(obj)
            await self.save()
            await self.emit(ObjectSkipped.of(obj))

        await self.commit(step())

    async def fail_object(
        self, obj: ObjectRecord, code: str, message: str, status: ObjectStatus = ObjectStatus.FAILED
    ) -> None:
        """Mark an object failed (or cancelled) at its current stage and announce it (committed)."""

        async def step() -> None:
            obj.status = status
            obj.failure = ObjectFailure(stage=current_stage(obj), code=code, message=message)
            self.record.objects_failed += 1
            await self.save_object(obj)
            await self.save()
            await self.emit(ObjectError.of(obj))

        await self.commit(step())

    def pending_objects(self) -> list[ObjectRecord]:
        """Objects still to be finished, in index order."""
        return [o for _, o in sorted(self.objects.items()) if o.status is ObjectStatus.PENDING]


def current_stage(obj: ObjectRecord) -> Stage:
    """The first pipeline stage the object has not been through yet."""
    done = {run.stage for run in obj.stages}
    return next((s for s in PIPELINE if s not in done), Stage.TEXTURE)
