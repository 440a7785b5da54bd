"""Cancel, watch, re-attach, list/get, NOT_FOUND, and resumption after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from meshpipe.v1 import orchestrator_pb2 as pb
from tests.unit.orchestrator.conftest import Harness, make_settings, running_orchestrator
from tests.unit.orchestrator.fakes import Behaviour, scene_png


def _scene(b: Behaviour, n: int) -> bytes:
    image, boxes = scene_png(n=n)
    b.boxes = boxes
    return image


async def _until(
    call: grpc.aio.UnaryStreamCall, predicate: Callable[[pb.JobEvent], bool]
) -> list[pb.JobEvent]:
    seen = []
    async for event in call:
        seen.append(event)
        if predicate(event):
            return seen
    raise AssertionError(f"stream ended before the expected event: {seen}")


def _shape_started(e: pb.JobEvent) -> bool:
    return e.HasField("progress") and e.progress.stage == pb.STAGE_SHAPE and not e.progress.finished


async def test_cancel_stops_queued_work_and_cancels_the_call_in_flight(orch: Harness) -> None:
    orch.behaviour.delay = {"shape": 30.0}
    call = orch.stub.SubmitJob(pb.SubmitJobRequest(image=_scene(orch.behaviour, 3)))
    seen = await _until(call, _shape_started)
    job_id = seen[0].job_id
    await asyncio.wait_for(orch.behaviour.shape_reached.wait(), 5)  # the call is in flight
    reply = await orch.stub.CancelJob(pb.CancelJobRequest(job_id=job_id), timeout=10)
    assert reply.state == pb.JOB_STATE_CANCELLED
    rest = [e async for e in call]
    done = rest[-1].done
    assert done.summary.state == pb.JOB_STATE_CANCELLED
    errors = [e.error for e in rest if e.HasField("error")]
    assert sorted(e.object_index for e in errors) == [0, 1, 2]
    assert {e.code for e in errors} == {"CANCELLED"}
    await asyncio.wait_for(orch.behaviour.call_cancelled.wait(), 5)
    assert orch.behaviour.cancelled == ["shape"]  # the in-flight stage call was cancelled
    assert len(orch.behaviour.shape_requests) == 1  # queued shape work never started
    again = await orch.stub.CancelJob(pb.CancelJobRequest(job_id=job_id))
    assert again.state == pb.JOB_STATE_CANCELLED


async def test_client_disconnect_does_not_cancel_and_watch_reattaches(orch: Harness) -> None:
    orch.behaviour.delay = {"matting": 0.2}
    call = orch.stub.SubmitJob(pb.SubmitJobRequest(image=_scene(orch.behaviour, 2)))
    first = await _until(call, lambda e: e.HasField("accepted"))
    call.cancel()
    job_id = first[0].job_id
    events = [e async for e in orch.stub.WatchJob(pb.WatchJobRequest(job_id=job_id))]
    assert (
        events[0].HasField("accepted") and events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
    )
    assert [e.sequence for e in events] == list(range(len(events)))
    tail = [e async for e in orch.stub.WatchJob(pb.WatchJobRequest(job_id=job_id, from_sequence=3))]
    assert [e.sequence for e in tail] == list(range(3, len(events)))


async def test_get_and_list(orch: Harness) -> None:
    events = await orch.run_job(_scene(orch.behaviour, 2), name="first")
    job_id = events[0].job_id
    got = await orch.stub.GetJob(pb.GetJobRequest(job_id=job_id))
    assert got.summary.name == "first" and got.summary.state == pb.JOB_STATE_SUCCEEDED
    assert sorted(r.object_index for r in got.results) == [0, 1]
    assert got.summary.output_dir == ""  # server paths never reach a client
    assert str(orch.out) not in str(got)
    assert abs(got.summary.created_time.ToNanoseconds() / 1e9 - got.summary.created_at) < 1e-6
    assert got.summary.finished_time.ToNanoseconds() > got.summary.created_time.ToNanoseconds()
    await orch.run_job(_scene(orch.behaviour, 1), name="second")
    listed = await orch.stub.ListJobs(pb.ListJobsRequest())
    assert [j.name for j in listed.jobs] == ["second", "first"]
    one = await orch.stub.ListJobs(pb.ListJobsRequest(limit=1))
    assert [j.name for j in one.jobs] == ["second"]


async def test_download_streams_chunks_identical_to_the_file(orch: Harness) -> None:
    events = await orch.run_job(_scene(orch.behaviour, 1))
    artifact = next(e for e in events if e.HasField("result")).result.artifacts[-1]
    chunks = [
        c
        async for c in orch.stub.DownloadArtifact(
            pb.DownloadArtifactRequest(artifact_id=artifact.artifact_id)
        )
    ]
    data = b"".join(c.data for c in chunks)
    assert data == (orch.out / events[0].job_id / artifact.relative_path).read_bytes()
    assert all(c.total_size == len(data) for c in chunks)


@pytest.mark.parametrize(
    ("rpc", "request_"),
    [
        ("GetJob", pb.GetJobRequest(job_id="20260101-000000-abcdef")),
        ("GetJob", pb.GetJobRequest(job_id="../../etc/passwd")),
        ("CancelJob", pb.CancelJobRequest(job_id="nope")),
    ],
)
async def test_unknown_job_ids_are_not_found(orch: Harness, rpc: str, request_: object) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await getattr(orch.stub, rpc)(request_)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("job_id", ["20260101-000000-abcdef", "", "x" * 10000])
async def test_watch_unknown_job_is_not_found(orch: Harness, job_id: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        [e async for e in orch.stub.WatchJob(pb.WatchJobRequest(job_id=job_id))]
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_artifact_ids_cannot_traverse(orch: Harness) -> None:
    events = await orch.run_job(_scene(orch.behaviour, 1))
    job_id = events[0].job_id
    (orch.out / "secret.txt").write_text("nope")
    for bad in (
        f"{job_id}:../secret.txt",
        f"{job_id}:/etc/passwd",
        "../jobs.sqlite3",
        f"{job_id}:crops/../../secret.txt",
        "",
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            [
                c
                async for c in orch.stub.DownloadArtifact(
                    pb.DownloadArtifactRequest(artifact_id=bad)
                )
            ]
        assert err.value.code() == grpc.StatusCode.NOT_FOUND, bad


async def test_unfinished_job_resumes_after_restart_without_redoing_work(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    settings = make_settings(tmp_path, stage_address)
    behaviour.delay = {"texture": 30.0}
    async with running_orchestrator(settings, behaviour) as first:
        call = first.stub.SubmitJob(pb.SubmitJobRequest(image=_scene(behaviour, 2)))
        seen = await _until(
            call,
            lambda e: e.HasField("progress") and e.progress.stage == pb.STAGE_TEXTURE,
        )
        job_id = seen[0].job_id
        call.cancel()
    mattings_before = sum(1 for c in behaviour.calls if c[0] == "matting")
    assert mattings_before >= 1
    behaviour.delay = {}
    async with running_orchestrator(settings, behaviour) as second:
        listed = await second.stub.ListJobs(pb.ListJobsRequest())
        assert [j.job_id for j in listed.jobs] == [job_id]
        assert await second.app.jobs.resume() == 1
        events = [e async for e in second.stub.WatchJob(pb.WatchJobRequest(job_id=job_id))]
    assert [e.sequence for e in events] == list(range(len(events)))
    assert events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
    assert sum(1 for c in behaviour.calls if c[0] == "matting") == 2  # none redone
    assert sum(1 for c in behaviour.calls if c[0] == "detector") == 1
    job_dir = tmp_path / job_id
    assert sorted(p.name for p in (job_dir / "textured").iterdir()) == [
        "000_object.glb",
        "001_object.glb",
    ]
    assert not list(job_dir.rglob("*.r1.*"))  # nothing written twice


async def test_shutdown_refuses_new_jobs_and_ends_streams_with_unavailable(orch: Harness) -> None:
    orch.behaviour.delay = {"shape": 30.0}
    call = orch.stub.SubmitJob(pb.SubmitJobRequest(image=_scene(orch.behaviour, 1)))
    seen = await _until(call, _shape_started)
    await orch.app.jobs.drain(0.05)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await orch.run_job(_scene(orch.behaviour, 1))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    await orch.app.jobs.close()
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        [e async for e in call]
    assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
    assert f"from_sequence={len(seen)}" in (ended.value.details() or "")
    job = await orch.app.store.job(seen[0].job_id)
    assert job is not None and job.state.value == "running"  # left to resume, not failed
