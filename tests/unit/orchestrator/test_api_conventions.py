"""The client API's gRPC conventions on a real in-process orchestrator server (fake stages on
a real socket): request ids, rich errors, malformed and oversize requests, paging, idempotent
submit, the job id in the initial metadata, heartbeats, time limits, resumable and verified
downloads, owner scoping with bearer tokens."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from meshpipe.runtime.callctx import RequestIdFilter
from meshpipe.v1 import orchestrator_pb2 as pb
from tests.unit.orchestrator.conftest import Harness, make_settings, running_orchestrator
from tests.unit.orchestrator.fakes import Behaviour, scene_png

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef"


def _scene(b: Behaviour, n: int = 1) -> bytes:
    image, boxes = scene_png(n=n)
    b.boxes = boxes
    return image


def _status_details(err: grpc.aio.AioRpcError) -> list[Any]:
    status = rpc_status.from_call(err)
    assert status is not None
    return list(status.details)


async def test_request_id_is_returned_forwarded_to_stages_and_logged(
    orch: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())  # as configure_logging does in a process
    call = orch.stub.SubmitJob(
        pb.SubmitJobRequest(image=_scene(orch.behaviour)), metadata=(("x-request-id", "trace-42"),)
    )
    events = [e async for e in call]
    assert events[-1].HasField("done")
    assert ("x-request-id", "trace-42") in tuple(await call.trailing_metadata())
    stage_ids = {m.get("x-request-id") for m in orch.behaviour.metadata}
    assert stage_ids == {"trace-42"}  # every stage call of the job carries it
    job_lines = [r for r in caplog.records if events[0].job_id in r.getMessage()]
    assert job_lines and all(getattr(r, "request_id", "") == "trace-42" for r in job_lines)


async def test_a_request_id_is_made_when_absent_and_unprintable_ones_are_replaced(
    orch: Harness,
) -> None:
    call = orch.stub.ListJobs(pb.ListJobsRequest())
    await call
    made = dict(await call.trailing_metadata())["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0
    call = orch.stub.ListJobs(pb.ListJobsRequest(), metadata=(("x-request-id", "a" * 5000),))
    await call
    assert len(dict(await call.trailing_metadata())["x-request-id"]) == 32


async def test_huge_quality_is_invalid_argument_with_a_short_message_and_a_field_violation(
    orch: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    huge = "x" * (20 * 1024 * 1024)
    request = pb.SubmitJobRequest(image=_scene(orch.behaviour), options=pb.JobOptions(quality=huge))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await orch.stub.SubmitJob(request).read()
    err = info.value
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(err.details() or "") < 200 and "options.quality" in (err.details() or "")
    (detail,) = _status_details(err)
    bad = error_details_pb2.BadRequest()
    assert detail.Unpack(bad)
    assert [v.field for v in bad.field_violations] == ["options.quality"]
    assert max(len(r.getMessage()) for r in caplog.records) < 1000


async def test_out_of_range_option_names_its_field(orch: Harness) -> None:
    options = pb.JobOptions(shape=pb.ShapeOptions(steps=100_000))
    request = pb.SubmitJobRequest(image=_scene(orch.behaviour), options=options)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await orch.stub.SubmitJob(request).read()
    bad = error_details_pb2.BadRequest()
    assert _status_details(info.value)[0].Unpack(bad)
    assert bad.field_violations[0].field == "options.shape.steps"


async def test_a_full_queue_says_when_to_retry(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    settings = make_settings(tmp_path, stage_address, max_queued_jobs=1)
    behaviour.delay = {"detector": 30.0}
    async with running_orchestrator(settings, behaviour) as h:
        first = h.stub.SubmitJob(pb.SubmitJobRequest(image=_scene(behaviour)))
        await first.read()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await h.stub.SubmitJob(pb.SubmitJobRequest(image=_scene(behaviour))).read()
        first.cancel()
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry = error_details_pb2.RetryInfo()
    assert _status_details(info.value)[0].Unpack(retry)
    assert retry.retry_delay.seconds > 0


async def test_undecodable_request_is_invalid_argument(orch: Harness) -> None:
    async with grpc.aio.insecure_channel(orch.address) as channel:
        raw = channel.unary_unary(
            "/meshpipe.v1.Orchestrator/GetJob",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await raw(b"\xff\xff\xff\xff\x0f")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed request" in (info.value.details() or "")


async def test_oversize_request_is_resource_exhausted(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    settings = make_settings(tmp_path, stage_address, max_request_bytes=4 * 1024 * 1024)
    async with running_orchestrator(settings, behaviour) as h:
        big = pb.SubmitJobRequest(image=os.urandom(5 * 1024 * 1024))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await h.stub.SubmitJob(big).read()
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_list_jobs_pages_and_filters_by_state(orch: Harness) -> None:
    names = [f"job{i}" for i in range(5)]
    for name in names:
        await orch.run_job(_scene(orch.behaviour), name=name)
    seen, token = [], ""
    while True:
        page = await orch.stub.ListJobs(pb.ListJobsRequest(page_size=2, page_token=token))
        assert len(page.jobs) <= 2
        seen += [j.name for j in page.jobs]
        token = page.next_page_token
        if not token:
            break
    assert seen == names[::-1]
    done = await orch.stub.ListJobs(pb.ListJobsRequest(states=[pb.JOB_STATE_SUCCEEDED]))
    assert len(done.jobs) == 5
    none = await orch.stub.ListJobs(pb.ListJobsRequest(states=[pb.JOB_STATE_FAILED]))
    assert list(none.jobs) == []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await orch.stub.ListJobs(pb.ListJobsRequest(page_token="garbage!"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_server_caps_the_page_size(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    settings = make_settings(tmp_path, stage_address, max_page_size=2)
    async with running_orchestrator(settings, behaviour) as h:
        for _ in range(3):
            await h.run_job(_scene(behaviour))
        page = await h.stub.ListJobs(pb.ListJobsRequest(page_size=500))
    assert len(page.jobs) == 2 and page.next_page_token


async def test_a_retry_with_the_same_request_id_attaches_to_the_same_job(orch: Harness) -> None:
    request = pb.SubmitJobRequest(image=_scene(orch.behaviour), request_id="order-7")
    first = await orch.run_job(request.image, request_id="order-7")
    again = [e async for e in orch.stub.SubmitJob(request)]
    assert again[0].job_id == first[0].job_id
    assert [e.sequence for e in again] == [e.sequence for e in first]
    listed = await orch.stub.ListJobs(pb.ListJobsRequest())
    assert len(listed.jobs) == 1 and listed.jobs[0].request_id == "order-7"
    other = await orch.run_job(request.image, request_id="order-8")
    assert other[0].job_id != first[0].job_id


async def test_the_job_id_comes_first_in_the_initial_metadata(orch: Harness) -> None:
    orch.behaviour.delay = {"detector": 30.0}
    call = orch.stub.SubmitJob(pb.SubmitJobRequest(image=_scene(orch.behaviour)))
    metadata = dict(await call.initial_metadata())
    first = await call.read()
    assert metadata["x-job-id"] == first.job_id
    call.cancel()
    await orch.stub.CancelJob(pb.CancelJobRequest(job_id=first.job_id))


async def test_heartbeats_keep_a_quiet_stream_alive(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    settings = make_settings(tmp_path, stage_address, heartbeat_seconds=0.2)
    behaviour.delay = {"shape": 1.0}
    async with running_orchestrator(settings, behaviour) as h:
        events = await h.run_job(_scene(behaviour))
    beats = [e for e in events if e.HasField("heartbeat")]
    real = [e for e in events if not e.HasField("heartbeat")]
    assert len(beats) >= 2
    assert [e.sequence for e in real] == list(range(len(real)))  # beats do not advance it
    assert all(b.heartbeat.elapsed_seconds > 0 for b in beats)
    assert events[-1].HasField("done")


async def test_time_limit_stops_the_job_with_a_clear_reason(orch: Harness) -> None:
    orch.behaviour.delay = {"shape": 30.0}
    options = pb.JobOptions(time_limit_seconds=1.0)
    events = await orch.run_job(_scene(orch.behaviour), options=options)
    done = events[-1].done.summary
    assert done.state == pb.JOB_STATE_FAILED
    assert "time limit of 1s exceeded" in done.error
    errors = [e.error for e in events if e.HasField("error")]
    assert errors and all(e.code == "DEADLINE_EXCEEDED" for e in errors)
    assert "shape" in orch.behaviour.cancelled  # the stage call in flight was cancelled


async def test_downloads_resume_from_an_offset_and_carry_sha256(orch: Harness) -> None:
    events = await orch.run_job(_scene(orch.behaviour))
    artifact = next(e for e in events if e.HasField("result")).result.artifacts[-1]
    data = (orch.out / events[0].job_id / artifact.relative_path).read_bytes()
    assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    request = pb.DownloadArtifactRequest(artifact_id=artifact.artifact_id, offset=100)
    chunks = [c async for c in orch.stub.DownloadArtifact(request)]
    assert chunks[0].offset == 100 and b"".join(c.data for c in chunks) == data[100:]
    past = pb.DownloadArtifactRequest(artifact_id=artifact.artifact_id, offset=len(data) + 1)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await orch.stub.DownloadArtifact(past).read()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("tamper", ["hard_link", "symlink", "rewritten"])
async def test_only_the_recorded_regular_file_is_served(orch: Harness, tamper: str) -> None:
    events = await orch.run_job(_scene(orch.behaviour))
    artifact = next(e for e in events if e.HasField("result")).result.artifacts[-1]
    path = orch.out / events[0].job_id / artifact.relative_path
    secret = orch.out / "jobs.sqlite3"
    if tamper == "hard_link":  # planted: another file linked in under the recorded name
        path.unlink()
        os.link(secret, path)
    elif tamper == "symlink":
        path.unlink()
        path.symlink_to(secret)
    else:  # same size, other bytes
        path.write_bytes(bytes(len(path.read_bytes())))
    request = pb.DownloadArtifactRequest(artifact_id=artifact.artifact_id)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await orch.stub.DownloadArtifact(request).read()
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_jobs_and_artifacts_are_visible_only_to_their_principal(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    tokens = f"alice:{ALICE},bob:{BOB}"
    settings = make_settings(tmp_path, stage_address, tokens=tokens)
    alice = (("authorization", f"Bearer {ALICE}"),)
    bob = (("authorization", f"Bearer {BOB}"),)
    async with running_orchestrator(settings, behaviour) as h:
        request = pb.SubmitJobRequest(image=_scene(behaviour))
        events = [e async for e in h.stub.SubmitJob(request, metadata=alice)]
        job_id = events[0].job_id
        artifact = events[-1].done.manifest.artifact_id
        assert (await h.stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=alice)).summary
        calls = [
            h.stub.GetJob(pb.GetJobRequest(job_id=job_id), metadata=bob),
            h.stub.CancelJob(pb.CancelJobRequest(job_id=job_id), metadata=bob),
            h.stub.WatchJob(pb.WatchJobRequest(job_id=job_id), metadata=bob).read(),
            h.stub.DownloadArtifact(
                pb.DownloadArtifactRequest(artifact_id=artifact), metadata=bob
            ).read(),
        ]
        for call in calls:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert list((await h.stub.ListJobs(pb.ListJobsRequest(), metadata=bob)).jobs) == []
        mine = await h.stub.ListJobs(pb.ListJobsRequest(), metadata=alice)
        assert [j.job_id for j in mine.jobs] == [job_id]
        for metadata in ((), (("authorization", "Bearer wrong-token-0123456789"),)):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await h.stub.ListJobs(pb.ListJobsRequest(), metadata=metadata)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_the_same_request_id_from_another_principal_is_another_job(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    settings = make_settings(tmp_path, stage_address, tokens=f"alice:{ALICE},bob:{BOB}")
    async with running_orchestrator(settings, behaviour) as h:
        request = pb.SubmitJobRequest(image=_scene(behaviour), request_id="same")
        ids = []
        for token in (ALICE, BOB, ALICE):
            metadata = (("authorization", f"Bearer {token}"),)
            ids.append((await h.stub.SubmitJob(request, metadata=metadata).read()).job_id)
    assert ids[0] == ids[2] != ids[1]
