"""Crops, GLB counting, ids and the event log."""

from __future__ import annotations

import asyncio
import re

import pytest
import trimesh

from meshpipe.errors import MeshpipeError
from orchestrator.crops import crop_box
from orchestrator.domain import Box, JobState, JobSummary
from orchestrator.event_log import EventLog
from orchestrator.events import JobAccepted, JobDone, JobEvent
from orchestrator.glb import mesh_counts
from orchestrator.ids import new_job_id, slug


def test_crop_box_pads_and_clips() -> None:
    padded = crop_box(Box(x1=10, y1=20, x2=30, y2=60), 0.1, 100, 100)
    assert (padded.x1, padded.y1, padded.x2, padded.y2) == (8, 16, 32, 64)
    clipped = crop_box(Box(x1=0, y1=90, x2=50, y2=100), 0.5, 100, 100)
    assert (clipped.x1, clipped.y1, clipped.x2, clipped.y2) == (0, 85, 75, 100)
    degenerate = crop_box(Box(x1=100, y1=100, x2=100, y2=100), 0.0, 100, 100)
    assert degenerate.width >= 1 and degenerate.height >= 1 and degenerate.x2 <= 100


def test_mesh_counts_match_trimesh() -> None:
    mesh = trimesh.creation.icosphere(subdivisions=2)
    assert mesh_counts(mesh.export(file_type="glb")) == (len(mesh.vertices), len(mesh.faces))


@pytest.mark.parametrize("data", [b"", b"glTF" + b"\0" * 30, b"not a glb at all, really"])
def test_mesh_counts_reject_non_glb(data: bytes) -> None:
    with pytest.raises(MeshpipeError):
        mesh_counts(data)


def test_job_ids_sort_by_time_and_labels_slug() -> None:
    a, b = new_job_id(1_700_000_000), new_job_id(1_700_000_001)
    assert re.fullmatch(r"20231114-221320-[0-9a-f]{32}", a)  # 128 random bits
    assert a < b
    assert slug("Coffee mug!") == "coffee-mug" and slug("../..") == "object"


def _summary() -> JobSummary:
    return JobSummary(
        job_id="j",
        state=JobState.SUCCEEDED,
        name="",
        prompt="",
        created_at=0,
        finished_at=1,
        objects_total=0,
        objects_succeeded=0,
        objects_failed=0,
        error="",
        output_dir="",
    )


async def test_event_log_numbers_persists_and_followers_see_everything() -> None:
    stored: list[JobEvent] = []

    async def persist(e: JobEvent) -> None:
        stored.append(e)

    log = EventLog("j", persist)
    seen: list[int] = []

    async def follow() -> None:
        async for e in log.follow():
            seen.append(e.sequence)

    follower = asyncio.create_task(follow())
    await log.append(JobAccepted(image_width=1, image_height=1, seed=0))
    await asyncio.sleep(0)
    await log.append(JobDone(summary=_summary(), manifest=None, total_seconds=1))
    await asyncio.wait_for(follower, 1)
    assert seen == [0, 1] and [e.sequence for e in stored] == [0, 1]
    assert [e.sequence async for e in log.follow(1)] == [1]
    with pytest.raises(RuntimeError):
        await log.append(JobAccepted(image_width=1, image_height=1, seed=0))
