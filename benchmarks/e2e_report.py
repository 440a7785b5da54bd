"""Tables, goals, the policy simulator's prediction and the timeline plot of an end-to-end
benchmark run (scripts/gpu/e2e_bench.py), from its raw output folder.

    python -m benchmarks.e2e_report OUT [OUT2 ...] --save benchmarks/results/gpu/e2e_h100 \
        [--notes FILE]

writes `<save>.json`, `<save>.md` and `<save>.png`. Several OUT folders (one per GPU call
of a time-limited machine, the same configuration) are merged, runs in the order given. Memory figures come from the sampler
(NVML every 50 ms): `peak_nvml_bytes` is the largest sum of the GPU memory of every process
on the device (what the budget bounds); `peak_device_used_bytes` is NVML's device-wide
"used", which also counts memory the driver keeps for itself (its reading before the run
is `idle_device_used_bytes`).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from benchmarks.policy_sim.result import quantile

GIB = float(1 << 30)
STAGES = ("detector", "matting", "shape", "texture")
COLOURS = {"detector": "#4c72b0", "matting": "#55a868", "shape": "#c44e52", "texture": "#8172b2"}


def read_samples(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def memory_summary(samples: list[dict[str, Any]], t0: float, t1: float) -> dict[str, int]:
    inside = [s for s in samples if s.get("nvml") and t0 <= s["t"] <= t1]
    before = [s for s in samples if s.get("nvml") and s["t"] < t0]
    if not inside:
        return {}
    return {
        "peak_nvml_bytes": max(sum(s["procs"].values()) for s in inside),
        "peak_device_used_bytes": max(s["used"] for s in inside),
        "idle_device_used_bytes": min(s["used"] for s in before) if before else 0,
    }


def summarise(run: dict[str, Any], samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The per-run record of the results JSON."""
    latencies = [j["latency_s"] for j in run["jobs"]]
    objects = sum(j.get("objects", 0) for j in run["jobs"]) or None
    makespan = max(latencies)
    by_finish = sorted(run["jobs"], key=lambda j: j["latency_s"])
    out: dict[str, Any] = {
        "run": run["run"],
        "policy": run["policy"],
        "budget_bytes": run.get("budget_bytes"),
        "jobs": len(run["jobs"]),
        "objects": objects,
        "objects_succeeded": sum(j["succeeded"] for j in run["jobs"]),
        "makespan_s": round(max(latencies), 2),
        "p50_job_s": round(quantile(latencies, 0.5), 2),
        "p95_job_s": round(quantile(latencies, 0.95), 2),
        "job_latencies_s": [round(x, 2) for x in latencies],
        "p50_over_makespan": round(quantile(latencies, 0.5) / makespan, 3) if makespan else None,
        "finish_order": [j["name"] for j in by_finish],
        "detector_answers_at_token_limit": sum(
            any("hit max_new_tokens" in n for n in j.get("detector_notices", []))
            for j in run["jobs"]
        ),
        **memory_summary(samples, run["t_start"], run["t_end"]),
    }
    if run["policy"] == "meshpipe":
        out["stages"] = run["stages"]
        out["cold_loads"] = sum(s["cold_loads"] for s in run["stages"].values())
        out["wakes"] = sum(s["wakes"] for s in run["stages"].values())
        out["parks"] = sum(s["parks"] for s in run["stages"].values())
        out["stage_nvml_after_run_bytes"] = run["stage_nvml_after_run_bytes"]
        out["stage_nvml_cold_bytes"] = run["stage_nvml_cold_bytes"]
    else:
        out["cold_loads"] = sum(1 for p in run["phases"] if p["kind"] == "load")
        out["wakes"] = out["parks"] = 0
    return out


def stage_physics(phases: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per stage, from the load-per-request run: load seconds, seconds per item, peak and
    weights bytes (what the policy simulator needs)."""
    found: dict[str, dict[str, float]] = {}
    for stage in STAGES:
        loads = [p["t1"] - p["t0"] for p in phases if p["stage"] == stage and p["kind"] == "load"]
        runs = [p for p in phases if p["stage"] == stage and p["kind"] == "run"]
        per_item = [(p["t1"] - p["t0"]) / max(1, p.get("items", 1)) for p in runs]
        found[stage] = {
            "load_s": statistics.median(loads) if loads else 0.0,
            "run_s_per_item": statistics.median(per_item) if per_item else 0.0,
            "peak_bytes": max((p.get("peak_reserved", 0) for p in runs), default=0),
            "weights_bytes": max(
                (p.get("allocated", 0) for p in phases if p["stage"] == stage), default=0
            ),
        }
    return found


def predict(physics: dict[str, dict[str, float]], objects: list[int], budgets: list[int]) -> Any:
    """The policy simulator on the measured physics and the same workload."""
    from benchmarks.policy_sim.physics import Physics, StagePhysics
    from benchmarks.policy_sim.pipelined import run_meshpipe
    from benchmarks.policy_sim.sequential import run_sequential
    from benchmarks.policy_sim.workload import Job, Workload

    loads = [p["load_s"] for s, p in physics.items() if s != "matting"]
    model = Physics(
        stages=tuple(
            StagePhysics(s, int(p["peak_bytes"]), int(p["weights_bytes"]), p["run_s_per_item"])
            for s, p in physics.items()
        ),
        cold_load_seconds=statistics.mean(loads) if loads else 0.0,
    )
    workload = Workload("e2e", tuple(Job(f"job-{i}", 0.0, k) for i, k in enumerate(objects)))
    rows = []
    for budget in budgets:
        for result in (
            run_meshpipe(model, workload, budget),
            run_sequential(model, workload, budget),
        ):
            rows.append(
                {
                    "policy": "meshpipe" if "meshpipe" in result.policy else "load-per-request",
                    "budget_bytes": budget,
                    "feasible": result.feasible,
                    "makespan_s": round(result.makespan, 2),
                    "p50_job_s": round(result.p50, 2),
                    "p95_job_s": round(result.p95, 2),
                    "cold_loads": result.cold_loads,
                    "wakes": result.wakes,
                    "parks": result.parks,
                }
            )
    return {"cold_load_seconds": round(model.cold_load_seconds, 2), "runs": rows}


def goals(runs: list[dict[str, Any]], idle_cold: int | None) -> list[tuple[str, bool | None]]:
    checks: list[tuple[str, bool | None]] = []
    for r in runs:
        # the tool has no budget: held to the smallest one measured (the card it would need)
        budget = r.get("budget_bytes") or min(
            (x["budget_bytes"] for x in runs if x.get("budget_bytes")), default=0
        )
        if "peak_nvml_bytes" in r and budget:
            checks.append((f"{r['run']}: peak {r['peak_nvml_bytes'] / GIB:.2f} GiB <= "
                           f"{budget / GIB:g} GiB", r["peak_nvml_bytes"] <= budget))  # fmt: skip
    base = next((r for r in runs if r["policy"] == "load-per-request"), None)
    for mesh in (r for r in runs if r["policy"] == "meshpipe"):
        budget = f"{mesh['budget_bytes'] / GIB:g} GiB"
        if base:
            ratio = mesh["makespan_s"] / base["makespan_s"]
            text = f"meshpipe makespan at {budget} = {ratio:.2f} x load-per-request"
            goal = budget == "24 GiB"  # the goal is set at 24 GiB
            checks.append((text + (" <= 0.7" if goal else " (no goal)"),
                           ratio <= 0.7 if goal else None))  # fmt: skip
        if mesh.get("p50_over_makespan") is not None:
            checks.append((f"meshpipe at {budget}: median job = {mesh['p50_over_makespan']:.2f} x "
                           "makespan <= 0.6", mesh["p50_over_makespan"] <= 0.6))  # fmt: skip
    if idle_cold is not None:
        checks.append((f"a cold stage in worker mode holds {idle_cold} bytes (goal 0)",
                       idle_cold == 0))  # fmt: skip
    return checks


# Paths of one machine's call; the rest of the configuration must agree to be merged.
_PER_CALL_KEYS = ("models", "u2net_dir", "known_boxes")


def merged_raw(raw_dirs: list[Path]) -> tuple[dict[str, Any], dict[str, Path]]:
    """The runs of every folder (a later run of the same name replaces an earlier one) and
    the folder each run's samples are in."""
    raw: dict[str, Any] = {}
    where: dict[str, Path] = {}
    for folder in raw_dirs:
        part = json.loads((folder / "raw.json").read_text())
        if not raw:
            raw = {**part, "runs": []}
            raw["calls"] = []
        mine = {k: v for k, v in part["config"].items() if k not in _PER_CALL_KEYS}
        first = {k: v for k, v in raw["config"].items() if k not in _PER_CALL_KEYS}
        if mine != first:
            raise SystemExit(f"{folder} holds runs of another configuration")
        raw["calls"].append({"folder": folder.name, "environment": part["environment"],
                             "runs": [r["run"] for r in part["runs"]]})  # fmt: skip
        for run in part["runs"]:
            raw["runs"] = [r for r in raw["runs"] if r["run"] != run["run"]] + [run]
            # A folder's raw.json also lists earlier calls' runs (same machine, same --out)
            # whose samples came back with those calls.
            if (folder / f"samples_{run['run']}.jsonl").is_file() or run["run"] not in where:
                where[run["run"]] = folder
    return raw, where


def build(raw_dirs: Path | list[Path]) -> dict[str, Any]:
    folders = [raw_dirs] if isinstance(raw_dirs, Path) else raw_dirs
    raw, where = merged_raw(folders)
    runs = [
        summarise(r, read_samples(where[r["run"]] / f"samples_{r['run']}.jsonl"))
        for r in raw["runs"]
    ]
    cold = [max(r["stage_nvml_cold_bytes"].values()) for r in runs if "stage_nvml_cold_bytes" in r]
    sim = raw["environment"].get("mode") == "sim"
    idle_cold = max(cold) if cold and not sim else None
    result: dict[str, Any] = {
        "gpu": raw["environment"].get("gpu"),
        "environment": raw["environment"],
        "config": raw["config"],
        "budget_bytes": max((r["budget_bytes"] or 0 for r in runs), default=0),
        "weights": "embedded backends on a simulated device (no GPU)"
        if sim
        else "RANDOM weights on the real architectures (rembg u2netp: real weights, CPU)",
        "detector_boxes": "the inputs' known boxes (the random-weight detector's answer is "
        "generated in full and ignored)",
        "idle_cold_stage_nvml_bytes": idle_cold,
        "calls": raw["calls"],
        "runs": runs,
    }
    base = next((r for r in raw["runs"] if r["policy"] == "load-per-request"), None)
    if base is not None:
        physics = stage_physics(base["phases"])
        budgets = sorted({r["budget_bytes"] for r in runs if r.get("budget_bytes")}) or [
            24 * (1 << 30)
        ]
        result["measured_physics"] = physics
        result["simulator"] = predict(physics, raw["config"]["objects"], budgets)
    result["goals"] = [{"goal": g, "met": ok} for g, ok in goals(runs, idle_cold)]
    return result


def markdown(result: dict[str, Any], notes: str) -> str:
    env = result["environment"]
    lines = [
        f"# End-to-end: meshpipe vs load-per-request on {result['gpu']}",
        "",
        f"torch {env.get('torch')}, Python {env.get('python')}; {result['weights']}; detector "
        f"boxes: {result['detector_boxes']}. Produced by scripts/gpu/e2e_bench.py "
        "(benchmarks/e2e_report.py).",
        "",
        f"Workload: {len(result['config']['objects'])} jobs submitted at once, objects "
        f"{result['config']['objects']}; shape {result['config']['variant']} "
        f"{result['config']['shape_steps']} steps (profile {result['config']['shape_profile']}, "
        f"octree {result['config'].get('octree_resolution') or 'of the profile'}, at most "
        f"{result['config'].get('max_faces')} faces), "
        f"paint {result['config']['paint_steps']} + {result['config']['paint_steps']} steps, "
        f"{result['config']['paint_views']} views, {result['config']['paint_size']} px; "
        f"detector {result['config']['detector_tokens']} new tokens; seed "
        f"{result['config']['seed']}.",
        "",
        "| run | budget GiB | jobs | objects | makespan s | p50 s | p95 s | p50 / makespan "
        "| peak NVML GiB | peak device used GiB | cold loads | wakes | parks |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        budget = f"{r['budget_bytes'] / GIB:g}" if r.get("budget_bytes") else "-"
        lines.append(
            f"| {r['run']} | {budget} | {r['jobs']} | {r['objects']} | {r['makespan_s']} | "
            f"{r['p50_job_s']} | {r['p95_job_s']} | {r.get('p50_over_makespan')} | "
            f"{_gib(r.get('peak_nvml_bytes'))} | {_gib(r.get('peak_device_used_bytes'))} | "
            f"{r['cold_loads']} | {r['wakes']} | {r['parks']} |"
        )
    lines += ["", "Job latencies (s, in submission order) and the order jobs finished in:", ""]
    for r in result["runs"]:
        lines.append(f"* {r['run']}: {r['job_latencies_s']}; finished "
                     f"{' '.join(n.removeprefix('job') for n in r['finish_order'])}; detector "
                     f"answers at the token limit: {r['detector_answers_at_token_limit']} of "
                     f"{r['jobs']}")  # fmt: skip
    lines += ["", *_stage_lines(result), "", *_sim_lines(result), "", "## Goals", ""]
    verdict = {True: "met", False: "MISSED", None: "figure"}
    lines += [f"* {verdict[g['met']]}: {g['goal']}" for g in result["goals"]]
    if notes:
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"


def _gib(value: float | None) -> str:
    return "-" if value is None else f"{value / GIB:.2f}"


def _stage_lines(result: dict[str, Any]) -> list[str]:
    lines = ["GPU memory of every stage (process + model worker, NVML), per meshpipe run:", ""]
    lines += ["| run | stage | state after | cold loads | wakes | parks | after run GiB "
              "| after Unload(COLD) GiB |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in result["runs"]:
        for stage, s in r.get("stages", {}).items():
            lines.append(
                f"| {r['run']} | {stage} | {s['state'].removeprefix('MODEL_STATE_').lower()} | "
                f"{s['cold_loads']} | {s['wakes']} | {s['parks']} | "
                f"{_gib(r['stage_nvml_after_run_bytes'][stage])} | "
                f"{_gib(r['stage_nvml_cold_bytes'][stage])} |"
            )
    return lines


def _sim_lines(result: dict[str, Any]) -> list[str]:
    sim = result.get("simulator")
    if not sim:
        return ["(no load-per-request run: no measured physics for the simulator)"]
    lines = [
        "Policy simulator (benchmarks/policy_sim) on the physics measured in the "
        f"load-per-request run (cold load {sim['cold_load_seconds']} s, the mean of the GPU "
        "stages):",
        "",
        "| stage | load s | s / item | peak reserved GiB | weights GiB |",
        "|---|---|---|---|---|",
    ]
    for stage, p in result["measured_physics"].items():
        lines.append(
            f"| {stage} | {p['load_s']:.2f} | {p['run_s_per_item']:.2f} | "
            f"{_gib(p['peak_bytes'])} | {_gib(p['weights_bytes'])} |"
        )
    lines += ["", "| predicted | budget GiB | makespan s | p50 s | p95 s | cold loads | wakes "
              "| parks |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in sim["runs"]:
        lines.append(
            f"| {r['policy']} | {r['budget_bytes'] / GIB:g} | {r['makespan_s']} | "
            f"{r['p50_job_s']} | {r['p95_job_s']} | {r['cold_loads']} | {r['wakes']} | "
            f"{r['parks']} |"
        )
    return lines


def _stage_at(phases: list[dict[str, Any]], t: float) -> str:
    for p in phases:
        if p["t0"] <= t <= p["t1"]:
            return str(p["stage"])
    return "matting"  # between phases the tool holds nothing on the GPU


def timeline(run: dict[str, Any], samples: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Seconds since the run's start and GPU GiB per stage (+ device used) per sample."""
    series: dict[str, list[float]] = {"t": [], "used": [], **{s: [] for s in STAGES}}
    for s in samples:
        if not s.get("nvml") or not run["t_start"] - 1 <= s["t"] <= run["t_end"] + 1:
            continue
        series["t"].append(s["t"] - run["t_start"])
        series["used"].append(s["used"] / GIB)
        by_stage = dict.fromkeys(STAGES, 0.0)
        for role, nbytes in s["roles"].items():
            stage = _stage_at(run.get("phases", []), s["t"]) if role == "load-per-request" else role
            if stage in by_stage:
                by_stage[stage] += nbytes / GIB
        for stage in STAGES:
            series[stage].append(by_stage[stage])
    return series


def plot(raw_dirs: list[Path], result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    raw, where = merged_raw(raw_dirs)
    runs = raw["runs"]
    fig, axes = plt.subplots(len(runs), 1, figsize=(11, 3.2 * len(runs)), squeeze=False)
    for ax, run in zip(axes[:, 0], runs, strict=True):
        series = timeline(run, read_samples(where[run["run"]] / f"samples_{run['run']}.jsonl"))
        if series["t"]:
            ax.stackplot(series["t"], *(series[s] for s in STAGES), labels=STAGES,
                         colors=[COLOURS[s] for s in STAGES], alpha=0.85)  # fmt: skip
            ax.plot(series["t"], series["used"], color="black", lw=0.8, label="device used (NVML)")
        budget = run.get("budget_bytes") or result["budget_bytes"]
        ax.axhline(budget / GIB, color="red", ls="--", lw=1, label=f"budget {budget / GIB:g} GiB")
        ax.set_title(f"{run['run']}: {run['policy']}")
        ax.set_ylabel("GPU GiB")
        ax.legend(loc="upper right", fontsize=7, ncol=3)
    axes[-1, 0].set_xlabel("seconds since all jobs were submitted")
    fig.suptitle(f"GPU memory by stage, {result['gpu']} (random weights, torch "
                 f"{result['environment'].get('torch')})")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dirs", type=Path, nargs="+", help="e2e_bench --out folders")
    parser.add_argument("--save", type=Path, required=True, help="path without extension")
    parser.add_argument("--notes", type=Path, help="a markdown file appended to the .md")
    args = parser.parse_args(argv)
    result = build(args.raw_dirs)
    notes = args.notes.read_text() if args.notes else ""
    args.save.parent.mkdir(parents=True, exist_ok=True)
    args.save.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    args.save.with_suffix(".md").write_text(markdown(result, notes))
    plot(args.raw_dirs, result, args.save.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
