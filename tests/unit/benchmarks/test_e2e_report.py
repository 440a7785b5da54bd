"""benchmarks/e2e_report.py on a small synthetic raw folder: per-run figures, the physics
taken from the load-per-request phases, the goals and the memory timeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.e2e_report import build, stage_physics, timeline
from benchmarks.policy_sim.result import quantile

GIB = 1 << 30
T0 = 1000.0


def phase(stage: str, kind: str, t0: float, t1: float, **extra: float) -> dict[str, object]:
    return {"stage": stage, "job": "job00", "kind": kind, "t0": T0 + t0, "t1": T0 + t1, **extra}


PHASES = [
    phase("detector", "load", 0, 10, allocated=4 * GIB),
    phase("detector", "run", 10, 12, peak_reserved=5 * GIB, items=1),
    phase("detector", "unload", 12, 13),
    phase("shape", "load", 13, 43, allocated=2 * GIB),
    phase("shape", "run", 43, 63, peak_reserved=3 * GIB, items=2),
    phase("shape", "unload", 63, 64),
]


def sample(t: float, used: int, roles: dict[str, int]) -> dict[str, object]:
    procs = {str(i): b for i, b in enumerate(roles.values())}
    return {"t": T0 + t, "nvml": True, "used": used, "procs": procs, "roles": roles}


def write_raw(folder: Path) -> None:
    mesh_jobs = [
        {"name": "job00", "objects": 1, "latency_s": 20.0, "succeeded": 1},
        {"name": "job01", "objects": 2, "latency_s": 30.0, "succeeded": 2},
    ]
    base_jobs = [
        {"name": "job00", "objects": 1, "latency_s": 40.0, "succeeded": 1},
        {"name": "job01", "objects": 2, "latency_s": 64.0, "succeeded": 2},
    ]
    stages = {"detector": {"state": "MODEL_STATE_PARKED", "cold_loads": 1, "wakes": 0,
                           "parks": 1, "unloads": 0, "requests": 2}}  # fmt: skip
    runs = [
        {"run": "meshpipe_24", "policy": "meshpipe", "budget_bytes": 24 * GIB, "t_start": T0,
         "t_end": T0 + 30, "jobs": mesh_jobs, "stages": stages,
         "stage_nvml_after_run_bytes": {"detector": 700 << 20},
         "stage_nvml_cold_bytes": {"detector": 0}},
        {"run": "load-per-request", "policy": "load-per-request", "t_start": T0,
         "t_end": T0 + 64, "jobs": base_jobs, "phases": PHASES},
    ]  # fmt: skip
    raw = {
        "environment": {"mode": "gpu", "gpu": "Test GPU", "torch": "x"},
        "config": {"objects": [1, 2]},
        "runs": runs,
    }
    (folder / "raw.json").write_text(json.dumps(raw))
    mesh = [sample(-1, GIB, {}), sample(5, 9 * GIB, {"detector": 5 * GIB, "shape": 3 * GIB})]
    base = [sample(11, 6 * GIB, {"load-per-request": 5 * GIB}),
            sample(50, 4 * GIB, {"load-per-request": 3 * GIB})]  # fmt: skip
    for name, lines in (("meshpipe_24", mesh), ("load-per-request", base)):
        text = "\n".join(json.dumps(x) for x in lines)
        (folder / f"samples_{name}.jsonl").write_text(text)


def test_runs_goals_and_physics_come_from_the_raw_folder(tmp_path: Path) -> None:
    write_raw(tmp_path)
    result = build(tmp_path)
    mesh, base = result["runs"]
    assert (mesh["makespan_s"], mesh["p50_job_s"], mesh["objects"]) == (30.0, 20.0, 3)
    assert mesh["peak_nvml_bytes"] == 8 * GIB, "sum over processes, not device used"
    assert mesh["peak_device_used_bytes"] == 9 * GIB
    assert mesh["idle_device_used_bytes"] == GIB
    assert (mesh["cold_loads"], mesh["parks"]) == (1, 1)
    assert base["cold_loads"] == 2 and base["makespan_s"] == 64.0
    assert result["idle_cold_stage_nvml_bytes"] == 0
    met = {g["goal"].split(":")[0]: g["met"] for g in result["goals"]}
    assert met["meshpipe makespan at 24 GiB = 0.47 x load-per-request <= 0.7"] is True
    sim = result["simulator"]
    assert {r["policy"] for r in sim["runs"]} == {"meshpipe", "load-per-request"}


def test_physics_per_item_and_the_baseline_timeline_follow_the_phases() -> None:
    physics = stage_physics(PHASES)
    assert physics["shape"]["run_s_per_item"] == 10.0
    assert physics["shape"]["load_s"] == 30.0
    assert physics["detector"]["peak_bytes"] == 5 * GIB
    assert physics["detector"]["weights_bytes"] == 4 * GIB
    run = {"t_start": T0, "t_end": T0 + 64, "phases": PHASES}
    samples = [sample(11, 6 * GIB, {"load-per-request": 5 * GIB}),
               sample(50, 4 * GIB, {"load-per-request": 3 * GIB})]  # fmt: skip
    series = timeline(run, samples)
    assert series["t"] == [11.0, 50.0]
    assert series["detector"] == [5.0, 0.0] and series["shape"] == [0.0, 3.0]


def test_job_order_figures_and_detector_notices_are_summarised(tmp_path: Path) -> None:
    write_raw(tmp_path)
    raw = json.loads((tmp_path / "raw.json").read_text())
    jobs = raw["runs"][0]["jobs"]
    jobs[0]["latency_s"], jobs[1]["latency_s"] = 30.0, 12.0  # job01 finished first
    jobs[1]["detector_notices"] = ["ignored answer: the answer hit max_new_tokens=128"]
    (tmp_path / "raw.json").write_text(json.dumps(raw))
    mesh = build(tmp_path)["runs"][0]
    assert mesh["finish_order"] == ["job01", "job00"]
    assert mesh["p50_over_makespan"] == round(quantile([30.0, 12.0], 0.5) / 30.0, 3)
    assert mesh["detector_answers_at_token_limit"] == 1


def test_calls_are_merged_and_a_rerun_replaces_the_earlier_run(tmp_path: Path) -> None:
    first, second = tmp_path / "call1", tmp_path / "call2"
    for folder in (first, second):
        folder.mkdir()
        write_raw(folder)
    raw = json.loads((second / "raw.json").read_text())
    raw["runs"] = [dict(raw["runs"][0], run="meshpipe_16", budget_bytes=16 * GIB)]
    raw["runs"][0]["jobs"] = [dict(j, latency_s=j["latency_s"] * 2) for j in raw["runs"][0]["jobs"]]
    (second / "raw.json").write_text(json.dumps(raw))
    (second / "samples_meshpipe_16.jsonl").write_text(json.dumps(sample(5, 3 * GIB, {"x": GIB})))
    result = build([first, second])
    names = [r["run"] for r in result["runs"]]
    assert names == ["meshpipe_24", "load-per-request", "meshpipe_16"]
    sixteen = result["runs"][2]
    assert sixteen["makespan_s"] == 60.0 and sixteen["peak_nvml_bytes"] == GIB
    assert [c["runs"] for c in result["calls"]] == [names[:2], ["meshpipe_16"]]
    goals = {g["goal"]: g["met"] for g in result["goals"]}
    assert goals["meshpipe makespan at 16 GiB = 0.94 x load-per-request (no goal)"] is None
    raw["config"] = {"objects": [1, 2, 3]}
    (second / "raw.json").write_text(json.dumps(raw))
    with pytest.raises(SystemExit, match="another configuration"):
        build([first, second])
