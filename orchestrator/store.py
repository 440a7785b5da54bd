"""Durable job store: SQLite (WAL) in the output folder, holding jobs, objects, events and
artifacts as JSON of the domain models. One worker thread owns the connection, so writes
happen in the order they were asked for (a job's events are persisted gap-free)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from meshpipe.errors import DiskFull
from orchestrator.domain import Artifact, JobRecord, JobState, ObjectRecord
from orchestrator.events import JobEvent

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, created_at REAL NOT NULL, state TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    job_id TEXT NOT NULL, object_index INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (job_id, object_index));
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL, sequence INTEGER NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY (job_id, sequence));
CREATE TABLE IF NOT EXISTS artifacts (
    artifact_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, record TEXT NOT NULL);
"""
_UNFINISHED = (JobState.QUEUED.value, JobState.RUNNING.value)
# The principal that owns a job (records stored before owners existed: "anonymous").
_OWNER = "COALESCE(json_extract(record, '$.owner'), 'anonymous')"


class JobStore:
    """Async facade over one SQLite file; every call runs on the store's own thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="job-store")
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Create the file and tables if needed."""
        await self._run(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        self._db = db

    async def close(self) -> None:
        """Finish pending writes and close the file."""
        await self._run(self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        # Shielded: a write that was asked for happens even if the asking task is cancelled,
        # and later writes cannot overtake it (one thread, FIFO).
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        return await asyncio.shield(future)

    def _exec(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if self._db is None:
            raise RuntimeError("job store is closed")
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                raise DiskFull(f"job store: {exc} ({self.path})") from exc
            raise

    def _exec_many(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Several statements in one transaction (all or none)."""
        if self._db is None:
            raise RuntimeError("job store is closed")
        with self._db:
            self._db.execute("BEGIN")
            for sql, params in statements:
                self._db.execute(sql, params)

    # ----------------------------------------------------------------- writes
    async def save_job(self, job: JobRecord) -> None:
        """Insert or update a job."""
        await self._run(
            self._exec,
            "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?)",
            job.job_id,
            job.created_at,
            job.state.value,
            job.model_dump_json(),
        )

    async def save_object(self, job_id: str, obj: ObjectRecord) -> None:
        """Insert or update one object of a job."""
        await self._run(
            self._exec,
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?)",
            job_id,
            obj.index,
            obj.model_dump_json(),
        )

    async def append_event(self, event: JobEvent) -> None:
        """Persist one event (sequence numbers are unique per job)."""
        await self._run(
            self._exec,
            "INSERT INTO events VALUES (?, ?, ?)",
            event.job_id,
            event.sequence,
            event.model_dump_json(),
        )

    async def add_artifact(self, job_id: str, artifact: Artifact) -> None:
        """Register an artifact for download."""
        await self._run(
            self._exec,
            "INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?)",
            artifact.artifact_id,
            job_id,
            artifact.model_dump_json(),
        )

    async def delete_job(self, job_id: str) -> None:
        """Remove a job with its objects, events and artifact records (one transaction)."""
        await self._run(
            self._exec_many,
            [
                (f"DELETE FROM {table} WHERE job_id = ?", (job_id,))
                for table in ("artifacts", "events", "objects", "jobs")
            ],
        )

    # ----------------------------------------------------------------- reads
    async def finished_before(self, cutoff: float, limit: int = 1000) -> list[str]:
        """Ids of finished jobs that finished before `cutoff` (epoch seconds), oldest first."""
        rows = await self._run(
            self._exec,
            "SELECT job_id FROM jobs WHERE state NOT IN (?, ?) "
            "AND json_extract(record, '$.finished_at') < ? "
            "ORDER BY created_at LIMIT ?",
            *_UNFINISHED,
            cutoff,
            limit,
        )
        return [r[0] for r in rows]

    async def job(self, job_id: str) -> JobRecord | None:
        """One job, or None."""
        rows = await self._run(self._exec, "SELECT record FROM jobs WHERE job_id = ?", job_id)
        return JobRecord.model_validate_json(rows[0][0]) if rows else None

    async def jobs(self, limit: int) -> list[JobRecord]:
        """Newest jobs first."""
        rows = await self._run(
            self._exec,
            "SELECT record FROM jobs ORDER BY created_at DESC, job_id DESC LIMIT ?",
            limit,
        )
        return [JobRecord.model_validate_json(r[0]) for r in rows]

    async def job_for_request(self, owner: str, request_id: str) -> str | None:
        """The id of the job `owner` submitted with `request_id`, or None."""
        rows = await self._run(
            self._exec,
            f"SELECT job_id FROM jobs WHERE {_OWNER} = ? AND json_extract(record, "
            "'$.request_id') = ? ORDER BY created_at LIMIT 1",
            owner,
            request_id,
        )
        return str(rows[0][0]) if rows else None

    async def jobs_page(
        self, owner: str, states: list[str], after: tuple[float, str] | None, limit: int
    ) -> list[JobRecord]:
        """`owner`'s jobs newest first, only `states` (all when empty), strictly after the
        (created_at, job_id) cursor `after`."""
        where: list[str] = [f"{_OWNER} = ?"]
        params: list[Any] = [owner]
        if states:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            params += states
        if after is not None:
            where.append("(created_at < ? OR (created_at = ? AND job_id < ?))")
            params += [after[0], after[0], after[1]]
        sql = (
            f"SELECT record FROM jobs WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, job_id DESC LIMIT ?"
        )
        rows = await self._run(self._exec, sql, *params, limit)
        return [JobRecord.model_validate_json(r[0]) for r in rows]

    async def unfinished_jobs(self) -> list[JobRecord]:
        """Jobs that were queued or running, oldest first (to resume after a restart)."""
        rows = await self._run(
            self._exec,
            "SELECT record FROM jobs WHERE state IN (?, ?) ORDER BY created_at, job_id",
            *_UNFINISHED,
        )
        return [JobRecord.model_validate_json(r[0]) for r in rows]

    async def objects(self, job_id: str) -> list[ObjectRecord]:
        """A job's objects in index order."""
        rows = await self._run(
            self._exec,
            "SELECT record FROM objects WHERE job_id = ? ORDER BY object_index",
            job_id,
        )
        return [ObjectRecord.model_validate_json(r[0]) for r in rows]

    async def events(self, job_id: str) -> list[JobEvent]:
        """A job's events in sequence order."""
        rows = await self._run(
            self._exec, "SELECT event FROM events WHERE job_id = ? ORDER BY sequence", job_id
        )
        return [JobEvent.model_validate_json(r[0]) for r in rows]

    async def artifact(self, artifact_id: str) -> tuple[str, Artifact] | None:
        """(job id, artifact) of a registered artifact id, or None."""
        rows = await self._run(
            self._exec,
            "SELECT job_id, record FROM artifacts WHERE artifact_id = ?",
            artifact_id,
        )
        if not rows:
            return None
        return rows[0][0], Artifact.model_validate_json(rows[0][1])
