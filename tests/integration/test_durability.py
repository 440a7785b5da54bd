"""An orchestrator restart mid-job: the job resumes, finished objects are not redone, and the
client's event stream re-attaches and continues gap-free."""

from __future__ import annotations

import json

import pytest

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.launcher.local import LocalSystem
from meshpipe.v1 import orchestrator_pb2 as pb
from tests.integration.scenes import three_object_scene

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_job_survives_an_orchestrator_restart(
    meshpipe_system: LocalSystem, client: MeshpipeClient, hard: bool
) -> None:
    events: list[pb.JobEvent] = []
    restarted_after: list[int] = []

    def restart_after_first_result(event: pb.JobEvent) -> None:
        events.append(event)
        if event.HasField("result") and not restarted_after:
            restarted_after.append(event.sequence)
            meshpipe_system.restart("orchestrator", hard=hard)

    options = job_options(octree_resolution=48, texture_size=256)
    done = client.submit(three_object_scene(), options=options, on_event=restart_after_first_result)

    assert restarted_after, "the job finished before any result"
    assert [e.sequence for e in events] == list(range(len(events)))  # re-attached, no gap
    assert done.done.summary.state == pb.JOB_STATE_SUCCEEDED
    assert sorted(e.result.object_index for e in events if e.HasField("result")) == [0, 1, 2]
    before = {
        e.result.object_index for e in events[: restarted_after[0] + 1] if e.HasField("result")
    }
    after = events[restarted_after[0] + 1 :]
    redone = {e.progress.object_index for e in after if e.HasField("progress")} & before
    assert not redone, f"finished objects {redone} were worked on again"
    log = (meshpipe_system.run_dir / "orchestrator.log").read_text()
    assert log.count("resumed 1 unfinished job(s)") >= 1
    folder = meshpipe_system.output_dir / done.job_id
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [o["status"] for o in manifest["objects"]] == ["succeeded"] * 3
    assert not list(folder.rglob("*.r1.*"))
