"""A job always ends (whatever fails), the disk guard, full-disk writes, retention, DeleteJob."""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from meshpipe.errors import DiskFull
from meshpipe.v1 import orchestrator_pb2 as pb
from orchestrator.artifacts import ArtifactStore
from orchestrator.pipeline import JobPipeline
from tests.unit.orchestrator.conftest import Harness, make_settings, running_orchestrator
from tests.unit.orchestrator.fakes import Behaviour, scene_png

JOB = "20261121-120000-abcdef"


def _scene(b: Behaviour, n: int) -> bytes:
    image, boxes = scene_png(n=n)
    b.boxes = boxes
    return image


def _tmp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def _folders(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.is_dir()]


def _done(events: list[pb.JobEvent]) -> pb.JobDone:
    assert [e.sequence for e in events] == list(range(len(events)))
    assert events[-1].HasField("done")
    return events[-1].done


# ------------------------------------------------------------------- artifact writes


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (skipped where mounting is not allowed)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_write_on_a_full_volume_is_disk_full_and_leaves_no_temp_file(small_tmpfs: Path) -> None:
    store = ArtifactStore(small_tmpfs)
    store.write(JOB, "crops/a.png", b"x" * 100_000, "crop")
    with pytest.raises(DiskFull, match="full"):
        store.write(JOB, "meshes/a.glb", os.urandom(2 * 1024 * 1024), "mesh", essential=True)
    assert _tmp_files(small_tmpfs) == []
    assert not (small_tmpfs / JOB / "meshes" / "a.glb").exists()
    store.write(JOB, "meshes/b.glb", b"y" * 1000, "mesh")  # space is back: writes work


def test_enospc_mid_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFull, match="No space left"):
        ArtifactStore(tmp_path).write(JOB, "crops/a.png", b"data", "crop")
    assert _tmp_files(tmp_path) == []


def test_reserve_is_kept_for_bookkeeping(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path, reserve_bytes=10**18)  # more than any disk has
    with pytest.raises(DiskFull, match="reserved for the job store"):
        store.write(JOB, "crops/a.png", b"data", "crop")
    store.write(JOB, "manifest.json", b"{}", "manifest", replace=True, essential=True)
    assert (tmp_path / JOB / "manifest.json").read_bytes() == b"{}"


# ------------------------------------------------------------------- the job always ends


async def test_a_bug_mid_job_ends_the_job_with_its_reason(
    orch: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = JobPipeline._crop

    async def broken(self: JobPipeline, job: Any, obj: Any, image: Any, path: str) -> bytes:
        if obj.index == 1:
            await job.commit(asyncio.sleep(0))
            raise SystemError("a bug")  # not caught per object: fails the whole job
        return await original(self, job, obj, image, path)

    monkeypatch.setattr(JobPipeline, "_object", _object_without_guard(JobPipeline._object))
    monkeypatch.setattr(JobPipeline, "_crop", broken)
    events = await orch.run_job(_scene(orch.behaviour, 2))
    done = _done(events)
    assert done.summary.state == pb.JOB_STATE_FAILED
    assert "internal error" in done.summary.error
    got = await orch.stub.GetJob(pb.GetJobRequest(job_id=events[0].job_id))
    assert got.summary.state == pb.JOB_STATE_FAILED  # stored, not RUNNING for good
    assert {e.object_index for e in got.errors} | {r.object_index for r in got.results} == {0, 1}
    cancel = await orch.stub.CancelJob(pb.CancelJobRequest(job_id=events[0].job_id))
    assert cancel.state == pb.JOB_STATE_FAILED
    monkeypatch.undo()
    later = await orch.run_job(_scene(orch.behaviour, 1))
    assert _done(later).summary.state == pb.JOB_STATE_SUCCEEDED


def _object_without_guard(original: Any) -> Any:
    async def run(self: JobPipeline, job: Any, obj: Any, image: Any) -> None:
        await self._stages_of(job, obj, image)

    return run


async def test_manifest_that_cannot_be_written_still_ends_the_job(
    orch: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = ArtifactStore.write

    def write(self: ArtifactStore, job_id: str, rel: str, *args: Any, **kwargs: Any) -> Any:
        if rel == "manifest.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, job_id, rel, *args, **kwargs)

    monkeypatch.setattr(ArtifactStore, "write", write)
    events = await orch.run_job(_scene(orch.behaviour, 1))
    done = _done(events)
    assert "manifest not written" in done.summary.error
    got = await orch.stub.GetJob(pb.GetJobRequest(job_id=events[0].job_id))
    assert got.summary.state == done.summary.state == pb.JOB_STATE_SUCCEEDED
    assert "manifest not written" in got.summary.error


async def test_artifacts_on_a_full_volume_fail_objects_cleanly(orch: Harness) -> None:
    orch.behaviour.delay = {"detector": 0.3}
    call = orch.stub.SubmitJob(pb.SubmitJobRequest(image=_scene(orch.behaviour, 2)))
    events = [await call.read()]  # accepted: the input is written
    orch.app.jobs._artifacts.reserve_bytes = 10**18  # now every object output is refused
    while (event := await call.read()) is not grpc.aio.EOF:
        events.append(event)
    done = _done(events)
    assert done.summary.state == pb.JOB_STATE_FAILED and done.manifest.relative_path
    errors = [e.error for e in events if e.HasField("error")]
    assert sorted(e.object_index for e in errors) == [0, 1]
    assert {e.code for e in errors} == {"RESOURCE_EXHAUSTED"}
    assert all("reserved for the job store" in e.message for e in errors)
    assert _tmp_files(orch.out) == []


# ------------------------------------------------------------------- disk guard


async def test_low_disk_refuses_new_jobs_with_the_numbers(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    settings = make_settings(tmp_path, stage_address, min_free_bytes=10**18)
    async with running_orchestrator(settings, behaviour) as h:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await h.run_job(_scene(behaviour, 1))
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        details = err.value.details() or ""
        assert "bytes) free, below the" in details and "1000000000000000000 bytes" in details
        assert _folders(tmp_path) == []  # no job folder made


# ------------------------------------------------------------------- deletion


async def test_delete_job(orch: Harness) -> None:
    events = await orch.run_job(_scene(orch.behaviour, 1))
    job_id = events[0].job_id
    artifact = next(e for e in events if e.HasField("result")).result.artifacts[0]
    reply = await orch.stub.DeleteJob(pb.DeleteJobRequest(job_id=job_id))
    assert reply.freed_bytes > 1000 and not (orch.out / job_id).exists()
    for call in (
        orch.stub.GetJob(pb.GetJobRequest(job_id=job_id)),
        orch.stub.DeleteJob(pb.DeleteJobRequest(job_id=job_id)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    download = orch.stub.DownloadArtifact(
        pb.DownloadArtifactRequest(artifact_id=artifact.artifact_id)
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        [c async for c in download]
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_running_job_cannot_be_deleted(orch: Harness) -> None:
    orch.behaviour.delay = {"matting": 30.0}
    call = orch.stub.SubmitJob(pb.SubmitJobRequest(image=_scene(orch.behaviour, 1)))
    first = await call.read()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await orch.stub.DeleteJob(pb.DeleteJobRequest(job_id=first.job_id))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "cancel it first" in (err.value.details() or "")
    assert (orch.out / first.job_id).is_dir()
    await orch.stub.CancelJob(pb.CancelJobRequest(job_id=first.job_id))
    call.cancel()


async def test_retention_sweep_deletes_old_finished_jobs_only(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    settings = make_settings(tmp_path, stage_address, retention_seconds=0.5)
    async with running_orchestrator(settings, behaviour) as h:
        old = (await h.run_job(_scene(behaviour, 1)))[0].job_id
        await asyncio.sleep(0.7)
        new = (await h.run_job(_scene(behaviour, 1)))[0].job_id
        assert await h.app.jobs.sweep() == 1
        assert not (tmp_path / old).exists() and (tmp_path / new).is_dir()
        listed = await h.stub.ListJobs(pb.ListJobsRequest())
        assert [j.job_id for j in listed.jobs] == [new]
        registry = h.app.metrics.registry
        deleted = registry.get_sample_value(
            "meshpipe_orchestrator_jobs_deleted_total", {"reason": "retention"}
        )
        assert deleted == 1
        assert registry.get_sample_value("meshpipe_orchestrator_retention_sweeps_total") == 1
