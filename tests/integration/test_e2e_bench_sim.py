"""The end-to-end GPU benchmark's plumbing on the CPU: `python -m scripts.gpu.e2e_bench
--mode sim` runs both policies (the whole system as real processes on a simulated device,
and the load-per-request script) on a 2-job workload, and `benchmarks.e2e_report` turns the
raw folder into figures. The GPU run uses the same code with the production backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.e2e_report import build

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_both_policies_run_and_the_report_reads_them(tmp_path: Path) -> None:
    out = tmp_path / "e2e"
    command = [
        sys.executable, "-m", "scripts.gpu.e2e_bench", "--mode", "sim", "--out", str(out),
        "--objects", "1,2", "--budgets", "16", "--octree-resolution", "48", "--estimates",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    raw = json.loads((out / "raw.json").read_text())
    runs = {r["run"]: r for r in raw["runs"]}
    assert set(runs) == {"meshpipe_16_est", "load-per-request"}
    for run in runs.values():
        assert [j["succeeded"] for j in run["jobs"]] == [1, 2], run["run"]
        notices = [n for j in run["jobs"] for n in j["detector_notices"]]
        assert any("known boxes" in n for n in notices), "the boxes are labelled as known"
    tool = runs["load-per-request"]
    assert sum(p["kind"] == "load" for p in tool["phases"]) == 8, "4 loads per job"
    result = build(out)
    mesh = next(r for r in result["runs"] if r["policy"] == "meshpipe")
    assert mesh["budget_bytes"] == 16 << 30 and mesh["jobs"] == 2 and mesh["objects"] == 3
    assert result["simulator"]["runs"], "the simulator ran on the tool's measured physics"
    assert result["idle_cold_stage_nvml_bytes"] is None, "no NVML figure without a GPU"
