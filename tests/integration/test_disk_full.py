"""A full output volume (a 30 MiB tmpfs) with five real processes: the job that fills it fails
cleanly, new jobs are refused with the numbers, and jobs work again once space is back."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.errors import ResourceExhausted
from meshpipe.launcher.local import LocalSystem
from meshpipe.v1 import orchestrator_pb2 as pb
from tests.integration.scenes import coffee_jpeg

pytestmark = pytest.mark.slow
MIB = 1024 * 1024
MIN_FREE = 3 * MIB
RESERVE = 3 * MIB - 100 * 1024  # the input fits above it, the first crop (~340 KB) does not


@pytest.fixture
def tmpfs_out(tmp_path: Path) -> Iterator[Path]:
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=30m", "tmpfs", str(out)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield out
    finally:
        subprocess.run(["umount", "-l", str(out)], check=False)


def _fill(out: Path, leave: int, name: str = "ballast.bin") -> Path:
    """A ballast file that leaves `leave` bytes free on the volume."""
    ballast = out / name
    size = shutil.disk_usage(out).free - leave
    with open(ballast, "wb") as f:
        f.write(b"\0" * size)
    return ballast


def test_full_disk_fails_the_job_cleanly_and_jobs_resume_when_space_is_back(
    tmp_path: Path, tmpfs_out: Path
) -> None:
    env = {
        "MESHPIPE_ORCHESTRATOR_MIN_FREE_BYTES": str(MIN_FREE),
        "MESHPIPE_ORCHESTRATOR_DISK_RESERVE_BYTES": str(RESERVE),
    }
    options = job_options(texture=False, octree_resolution=48)
    with (
        LocalSystem(
            tmp_path / "run", tmpfs_out, startup_timeout=120, child_env={"orchestrator": env}
        ) as system,
        MeshpipeClient(system.orchestrator_address, timeout=120) as client,
    ):
        ballast = _fill(tmpfs_out, MIN_FREE + 200 * 1024)
        events: list[pb.JobEvent] = []
        client.submit(coffee_jpeg(), on_event=events.append, options=options)
        job_id = events[0].job_id
        assert [e.sequence for e in events] == list(range(len(events)))
        done = events[-1].done
        assert done.summary.state == pb.JOB_STATE_FAILED
        errors = [e.error for e in events if e.HasField("error")]
        assert errors and {e.code for e in errors} == {"RESOURCE_EXHAUSTED"}
        assert client.get(job_id).summary.state == pb.JOB_STATE_FAILED
        assert client.cancel(job_id) == pb.JOB_STATE_FAILED
        assert not [p for p in tmpfs_out.rglob("*") if p.name.endswith(".tmp")]
        _check_store(tmpfs_out / "jobs.sqlite3", job_id, len(events))

        more = _fill(tmpfs_out, MIN_FREE - 100 * 1024, "more.bin")
        with pytest.raises(ResourceExhausted, match=r"free, below the .* kept free"):
            client.submit(coffee_jpeg(), options=options)

        ballast.unlink()
        more.unlink()
        later: list[pb.JobEvent] = []
        client.submit(coffee_jpeg(), on_event=later.append, options=options)
        assert later[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED
        log = (tmp_path / "run" / "orchestrator.log").read_text()
        assert "supervisor crashed" not in log and "Traceback" not in log
        assert all(c.alive() for c in system.children.values())  # nothing crashed


def _check_store(path: Path, job_id: str, n_events: int) -> None:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        state = db.execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,)).fetchone()[0]
        assert state == "failed"
        sequences = [
            r[0]
            for r in db.execute(
                "SELECT sequence FROM events WHERE job_id = ? ORDER BY sequence", (job_id,)
            )
        ]
        assert sequences == list(range(n_events))
    finally:
        db.close()
    assert os.path.getsize(path) > 0
