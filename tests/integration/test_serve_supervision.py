"""`meshpipe serve` survives a stage killed again and again while it works: the supervisor
restarts it, `serve` does not stop the system, and the jobs still finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.launcher.local import free_port
from meshpipe.v1 import orchestrator_pb2 as pb
from tests.integration.scenes import three_object_scene

pytestmark = pytest.mark.slow
KILLS = 4


def _stage_pid(serve_pid: int, stage: str) -> int | None:
    """The pid of `meshpipe stage <stage>` started by the serve process (None if none)."""
    out = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(serve_pid)], capture_output=True, text=True
    ).stdout
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if f" stage {stage} " in f" {args} ":
            return int(pid)
    return None


def _wait_for(what: str, predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_killed_stage_comes_back_and_jobs_still_finish(tmp_path: Path) -> None:
    port = free_port()
    stdout = tmp_path / "serve.out"
    argv = [sys.executable, "-m", "meshpipe.cli.main", "serve", "--port", str(port)]
    argv += ["--out", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run")]
    with open(stdout, "wb") as out:
        serve = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for("serve to start", lambda: b"serving;" in stdout.read_bytes(), 240)
        with MeshpipeClient(f"127.0.0.1:{port}", timeout=300) as client:
            for kill in range(KILLS):
                _kill_shape_mid_job(client, serve.pid, kill)
        assert serve.poll() is None, stdout.read_text()
        text = stdout.read_text()
        assert text.count("restarting it") == KILLS and "giving up" not in text, text
        log = (tmp_path / "run").glob("*.log")
        assert all("Traceback" not in p.read_text() for p in log if p.name == "orchestrator.log")
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(60)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait(10)


def _kill_shape_mid_job(client: MeshpipeClient, serve_pid: int, round_: int) -> None:
    before = _stage_pid(serve_pid, "shape")
    assert before is not None
    killed = False
    events: list[pb.JobEvent] = []

    def on_event(event: pb.JobEvent) -> None:
        nonlocal killed
        events.append(event)
        started = event.HasField("progress") and event.progress.stage == pb.STAGE_SHAPE
        if started and not event.progress.finished and not killed:
            os.kill(before, signal.SIGKILL)  # while the stage is busy with this job
            killed = True

    options = job_options(texture=False, octree_resolution=64, seed=round_)
    client.submit(three_object_scene(), on_event=on_event, options=options)
    assert killed, f"round {round_}: the shape stage was never reached"
    done = events[-1].done
    assert done.summary.state == pb.JOB_STATE_SUCCEEDED, (round_, done.summary)
    after = _stage_pid(serve_pid, "shape")
    assert after is not None and after != before  # a new shape process serves
