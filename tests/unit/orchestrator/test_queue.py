"""Queued jobs are told their position as it changes; a full queue is RESOURCE_EXHAUSTED with
a retry hint."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from meshpipe.v1 import orchestrator_pb2 as pb
from tests.unit.orchestrator.conftest import make_settings, running_orchestrator
from tests.unit.orchestrator.fakes import Behaviour, scene_png


async def test_queued_jobs_learn_their_position_as_it_changes(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    image, behaviour.boxes = scene_png(n=1)
    behaviour.delay = {"matting": 0.4}
    settings = make_settings(tmp_path, stage_address, max_running_jobs=1)
    async with running_orchestrator(settings, behaviour) as h:
        calls = []
        for _ in range(4):
            call = h.stub.SubmitJob(pb.SubmitJobRequest(image=image))
            await call.wait_for_connection()
            calls.append(call)
            await asyncio.sleep(0.1)  # arrival order A, B, C, D
        streams = [[e async for e in call] for call in calls]
    positions = [[e.queued.position for e in s if e.HasField("queued")] for s in streams]
    assert positions == [[], [0], [1, 0], [2, 1, 0]]
    for stream in streams:
        assert stream[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
        kinds = [e.WhichOneof("event") for e in stream]
        first_work = kinds.index("detections")
        assert "queued" not in kinds[first_work:]  # never told "queued" once running


async def test_full_queue_is_refused_with_a_retry_hint(
    tmp_path: Path, stage_address: str, behaviour: Behaviour
) -> None:
    image, behaviour.boxes = scene_png(n=1)
    settings = make_settings(tmp_path, stage_address, max_queued_jobs=1)
    async with running_orchestrator(settings, behaviour) as h:
        for _ in range(2):  # finished jobs: the hint knows the rate jobs finish at
            await h.run_job(image)
        behaviour.delay = {"matting": 5.0}
        first = h.stub.SubmitJob(pb.SubmitJobRequest(image=image))
        await first.read()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await h.run_job(image)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        details = err.value.details() or ""
        assert "the queue is full: 1 unfinished jobs, the limit is 1" in details
        assert "retry in about" in details
        first.cancel()


async def test_a_job_resubmitted_on_done_is_not_refused_for_the_finished_one(
    tmp_path: Path, stage_address: str, behaviour: Behaviour, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its done event a job still cleans up (memory given back); meanwhile it must not
    count against max_queued_jobs."""
    import time

    import orchestrator.jobs

    monkeypatch.setattr(orchestrator.jobs, "release_after", lambda _pixels: time.sleep(1.0))
    image, behaviour.boxes = scene_png(n=1)
    settings = make_settings(tmp_path, stage_address, max_queued_jobs=1)
    async with running_orchestrator(settings, behaviour) as h:
        for _ in range(2):
            events = await h.run_job(image)  # the second arrives while the first cleans up
            assert events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
