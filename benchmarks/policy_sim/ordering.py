"""Job latency under the two item orders of `orchestrator.policy`: "ready" (before: the
item that entered its queue first) and "job" (after: earlier jobs first, of jobs that came
together the smaller first, with aging), side by side on the 8-job workload of several
seeds, at every budget; both run policy (c) on the same virtual clock."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.policy_sim.physics import production_physics
from benchmarks.policy_sim.pipelined import run_meshpipe
from benchmarks.policy_sim.result import RunResult
from benchmarks.policy_sim.workload import concurrent_jobs
from orchestrator.policy import BatchPolicy

GIB = 1 << 30
SEEDS = (1, 2, 3, 4, 5, 6, 7)
BUDGETS_GIB = (12, 16, 24, 80)
COLD_LOAD_SECONDS = 15.0
MEDIAN_TARGET = 0.6  # median job <= this x makespan
MAKESPAN_TARGET = 1.05  # makespan <= this x the "ready" order's


@dataclass(frozen=True)
class Pair:
    """Both orders on one seed and budget."""

    seed: int
    budget_gib: int
    before: RunResult
    after: RunResult

    def median_share(self, r: RunResult) -> float:
        return r.p50 / r.makespan

    @property
    def makespan_ratio(self) -> float:
        return self.after.makespan / self.before.makespan

    @property
    def met(self) -> bool:
        return (
            self.median_share(self.after) <= MEDIAN_TARGET
            and self.makespan_ratio <= MAKESPAN_TARGET
        )


def run_pairs(seeds: tuple[int, ...] = SEEDS) -> list[Pair]:
    physics = production_physics(COLD_LOAD_SECONDS)
    pairs = []
    for seed in seeds:
        workload = concurrent_jobs(seed)
        for gib in BUDGETS_GIB:
            before = run_meshpipe(physics, workload, gib * GIB, BatchPolicy(order="ready"))
            after = run_meshpipe(physics, workload, gib * GIB, BatchPolicy(order="job"))
            pairs.append(Pair(seed, gib, before, after))
    return pairs


HEADER = (
    "| seed | budget GiB | before makespan s | before p50 s | before p50/makespan "
    "| after makespan s | after p50 s | after p50/makespan | makespan after/before | target |"
)


def row(p: Pair) -> str:
    b, a = p.before, p.after
    return (
        f"| {p.seed} | {p.budget_gib} | {b.makespan:.1f} | {b.p50:.1f} | "
        f"{p.median_share(b):.2f} | {a.makespan:.1f} | {a.p50:.1f} | {p.median_share(a):.2f} | "
        f"{p.makespan_ratio:.3f} | {'met' if p.met else 'MISSED'} |"
    )


def table(pairs: list[Pair]) -> list[str]:
    return [HEADER, "|" + "---|" * 10, *[row(p) for p in pairs]]


def markdown(pairs: list[Pair], command: str) -> str:
    return "\n".join(
        [
            "# Job order: before and after",
            "",
            f"Produced by `{command}` (policy simulator, virtual clock, no GPU; policy (c),",
            f"8 concurrent jobs x 1-6 objects per seed, cold load {COLD_LOAD_SECONDS:.0f} s).",
            '"before" = `BatchPolicy(order="ready")` (each stage takes the items that entered',
            'its queue first); "after" = `BatchPolicy(order="job")` (the default: earlier jobs',
            "first, of jobs that came together the smaller first, aging 120 s). Target: median",
            f"job <= {MEDIAN_TARGET} x makespan and makespan <= {MAKESPAN_TARGET} x before.",
            "",
            *table(pairs),
            "",
        ]
    )


def as_json(pairs: list[Pair]) -> list[dict[str, Any]]:
    return [
        {
            "seed": p.seed,
            "budget_gib": p.budget_gib,
            "before": {
                "makespan_seconds": round(p.before.makespan, 3),
                "p50_job_seconds": round(p.before.p50, 3),
            },
            "after": {
                "makespan_seconds": round(p.after.makespan, 3),
                "p50_job_seconds": round(p.after.p50, 3),
            },
            "met": p.met,
        }
        for p in pairs
    ]


def save(pairs: list[Pair], out: Path, command: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "policy_sim_job_order.md", out / "policy_sim_job_order.json"
    md.write_text(markdown(pairs, command))
    js.write_text(json.dumps(as_json(pairs), indent=1) + "\n")
    return [md, js]
