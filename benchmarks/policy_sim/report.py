"""Table, markdown, JSON and plot of a simulated grid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.policy_sim.grid import Cell
from benchmarks.policy_sim.physics import ASSUMPTIONS
from benchmarks.policy_sim.result import RunResult

GIB = 1 << 30
HEADER = (
    "| workload | cold load s | budget GiB | policy | makespan s | x lower bound | x (a) "
    "| p50 job s | p95 job s | cold loads | wakes | parks | peak GiB |"
)


def row(cell: Cell, r: RunResult) -> str:
    lead = f"| {cell.workload} | {cell.cold_load:.0f} | {cell.budget_gib} | {r.policy} |"
    if not r.feasible:
        return f"{lead} infeasible: {r.reason} | | | | | | | | |"
    seq = cell.result("(a)")
    vs_a = f"{r.makespan / seq.makespan:.2f}" if seq.feasible else "-"
    return (
        f"{lead} {r.makespan:.1f} | {r.makespan / cell.lower_bound:.3f} | {vs_a} | "
        f"{r.p50:.1f} | {r.p95:.1f} | {r.cold_loads} | {r.wakes} | {r.parks} | "
        f"{r.peak_bytes / GIB:.2f} |"
    )


def markdown(cells: list[Cell], checks: list[tuple[str, bool]], command: str) -> str:
    lines = [
        "# Policy simulator results",
        "",
        f"Produced by `{command}` (virtual clock, no GPU: figures are simulated from the",
        "assumptions below, not measured end to end). Lower bound = all compute back to back",
        "+ one cold load per stage. Peak = highest device memory charged (models + contexts).",
        "",
        "## Targets",
        "",
        *[f"- [{'x' if ok else ' '}] {name}" for name, ok in checks],
        "",
        "## Results",
        "",
        HEADER,
        "|" + "---|" * 13,
        *[row(c, r) for c in cells for r in c.results],
        "",
        "## Assumptions",
        "",
        "| quantity | value | source |",
        "|---|---|---|",
        *[f"| {q} | {v} | {s} |" for q, v, s in ASSUMPTIONS],
        "",
    ]
    return "\n".join(lines)


def as_json(cells: list[Cell], checks: list[tuple[str, bool]]) -> dict[str, Any]:
    return {
        "targets": [{"target": n, "met": ok} for n, ok in checks],
        "assumptions": [{"quantity": q, "value": v, "source": s} for q, v, s in ASSUMPTIONS],
        "cells": [
            {
                "workload": c.workload,
                "cold_load_seconds": c.cold_load,
                "budget_gib": c.budget_gib,
                "lower_bound_seconds": c.lower_bound,
                "results": [_result_json(r) for r in c.results],
            }
            for c in cells
        ],
    }


def _result_json(r: RunResult) -> dict[str, Any]:
    if not r.feasible:
        return {"policy": r.policy, "feasible": False, "reason": r.reason}
    return {
        "policy": r.policy,
        "feasible": True,
        "makespan_seconds": round(r.makespan, 3),
        "p50_job_seconds": round(r.p50, 3),
        "p95_job_seconds": round(r.p95, 3),
        "cold_loads": r.cold_loads,
        "wakes": r.wakes,
        "parks": r.parks,
        "peak_bytes": r.peak_bytes,
    }


def plot(cells: list[Cell], path: Path) -> None:
    """Makespan vs budget for the concurrent workload, one panel per cold-load time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    many = [c for c in cells if not c.workload.startswith("1 ")]
    colds = sorted({c.cold_load for c in many})
    fig, axes = plt.subplots(1, len(colds), figsize=(5 * len(colds), 4), sharey=True)
    for ax, cold in zip(axes, colds, strict=True):
        panel = [c for c in many if c.cold_load == cold]
        budgets = [c.budget_gib for c in panel]
        for prefix, style in (("(a)", "o-"), ("(b)", "s-"), ("(c)", "^-")):
            points = [(c.budget_gib, c.result(prefix)) for c in panel]
            xs = [b for b, r in points if r.feasible]
            ys = [r.makespan for _, r in points if r.feasible]
            label = next(r.policy for _, r in points)
            ax.plot(xs, ys, style, label=label)
        ax.plot(budgets, [c.lower_bound for c in panel], "k--", label="lower bound")
        ax.set_xscale("log", base=2)
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.set_title(f"cold load {cold:.0f} s per stage")
        ax.set_xlabel("VRAM budget (GiB)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("makespan (s), 8 concurrent jobs")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save(cells: list[Cell], checks: list[tuple[str, bool]], out: Path, command: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    md, js, png = out / "policy_sim.md", out / "policy_sim.json", out / "policy_sim.png"
    md.write_text(markdown(cells, checks, command))
    js.write_text(json.dumps(as_json(cells, checks), indent=1) + "\n")
    plot(cells, png)
    return [md, js, png]
