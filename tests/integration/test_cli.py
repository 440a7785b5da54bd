"""The command line as a user runs it: `meshpipe run`, `submit`, `jobs` (subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from meshpipe.launcher.local import LocalSystem
from tests.integration.scenes import three_object_scene

pytestmark = pytest.mark.slow


def meshpipe(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshpipe.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def scene_file(tmp_path: Path) -> Path:
    path = tmp_path / "scene.png"
    path.write_bytes(three_object_scene())
    return path


def test_run_starts_everything_and_writes_results(scene_file: Path, tmp_path: Path) -> None:
    out, runs = tmp_path / "out", tmp_path / "runs"
    proc = meshpipe(
        "run",
        str(scene_file),
        "--no-texture",
        "--octree-resolution",
        "32",
        "--seed",
        "3",
        "--out",
        str(out),
        "--run-dir",
        str(runs),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "job succeeded: 3/3 object(s)" in proc.stdout
    jobs = [p for p in out.iterdir() if p.is_dir()]
    assert len(jobs) == 1
    assert f"results: {jobs[0].resolve()}" in proc.stdout
    assert len(list((jobs[0] / "meshes").glob("*.glb"))) == 3
    assert (jobs[0] / "manifest.json").is_file() and (jobs[0] / "input.png").is_file()
    assert sorted(p.name for p in runs.glob("*.log")) == [
        "detector.log",
        "matting.log",
        "orchestrator.log",
        "shape.log",
        "texture.log",
    ]
    assert "orchestrator: stopped" in (runs / "orchestrator.log").read_text()


def test_run_with_a_missing_image_fails_in_one_line(tmp_path: Path) -> None:
    proc = meshpipe("run", str(tmp_path / "nope.jpg"), "--run-dir", str(tmp_path / "runs"))
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "image file not found" in lines[0], proc.stderr
    assert not (tmp_path / "runs").exists()  # nothing was started


def test_run_reports_a_stage_that_cannot_start(scene_file: Path, tmp_path: Path) -> None:
    proc = meshpipe(
        "run",
        str(scene_file),
        "--out",
        str(tmp_path / "out"),
        "--run-dir",
        str(tmp_path / "runs"),
        env={"MESHPIPE_SHAPE_BACKEND": "no-such-backend"},
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("meshpipe: error: shape exited with code")
    assert "no-such-backend" in lines[0]  # the tail of the child's log says why


def test_submit_download_and_jobs_commands(
    meshpipe_system: LocalSystem, scene_file: Path, tmp_path: Path
) -> None:
    address = meshpipe_system.orchestrator_address
    proc = meshpipe(
        "submit",
        str(scene_file),
        "--address",
        address,
        "--max-objects",
        "1",
        "--octree-resolution",
        "32",
        "--texture-size",
        "256",
        "--format",
        "stl",
        "--download",
        str(tmp_path / "dl"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "object 0 (object): texture done" in proc.stdout
    assert "object 0 (object): done -> textured/000_object.glb" in proc.stdout
    assert "\n  + previews/000_object.png\n" in proc.stdout
    assert "\n  + exports/000_object.stl\n" in proc.stdout
    assert "scene: scene.glb" in proc.stdout
    assert "(contact sheet: contact_sheet.png)" in proc.stdout
    job_id = next(p.name for p in (tmp_path / "dl").iterdir())
    job_dir = meshpipe_system.output_dir / job_id
    downloaded = sorted(
        p.relative_to(tmp_path / "dl" / job_id)
        for p in (tmp_path / "dl" / job_id).rglob("*")
        if p.is_file()
    )
    assert [p.as_posix() for p in downloaded] == [
        "contact_sheet.png",
        "crops/000_object.png",
        "exports/000_object.stl",
        "manifest.json",
        "mattes/000_object.png",
        "meshes/000_object.glb",
        "previews/000_object.png",
        "scene.glb",
        "textured/000_object.glb",
    ]
    for rel in downloaded:
        assert (tmp_path / "dl" / job_id / rel).read_bytes() == (job_dir / rel).read_bytes()
    listed = meshpipe("jobs", "list", "--address", address)
    assert listed.returncode == 0 and job_id in listed.stdout
    got = meshpipe("jobs", "get", job_id, "--address", address)
    assert got.returncode == 0 and "succeeded, 1/1 objects" in got.stdout
    assert "textured/000_object.glb" in got.stdout
    watched = meshpipe("jobs", "watch", job_id, "--address", address)
    assert watched.returncode == 0 and "job succeeded" in watched.stdout
    missing = meshpipe("jobs", "get", "20200101-000000-000000", "--address", address)
    assert missing.returncode == 1 and missing.stderr.startswith("meshpipe: error: NOT_FOUND")
    deleted = meshpipe("jobs", "delete", job_id, "--address", address)
    assert deleted.returncode == 0 and f"job {job_id}: deleted (" in deleted.stdout
    assert not job_dir.exists()
    again = meshpipe("jobs", "get", job_id, "--address", address)
    assert again.returncode == 1 and again.stderr.startswith("meshpipe: error: NOT_FOUND")
