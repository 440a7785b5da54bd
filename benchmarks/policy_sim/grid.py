"""The comparison grid: workloads x cold-load times x budgets x policies, and the targets."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.policy_sim.physics import STAGE_ORDER, Physics, production_physics
from benchmarks.policy_sim.pipelined import run_meshpipe, run_resident
from benchmarks.policy_sim.result import RunResult
from benchmarks.policy_sim.sequential import run_sequential
from benchmarks.policy_sim.workload import Workload, concurrent_jobs, single_job

GIB = 1 << 30
BUDGETS_GIB = (8, 12, 16, 24, 80)
COLD_LOADS = (5.0, 15.0, 40.0)


@dataclass(frozen=True)
class Cell:
    """All policies on one workload, cold-load time and budget."""

    workload: str
    cold_load: float
    budget_gib: int
    lower_bound: float
    results: tuple[RunResult, ...]

    def result(self, prefix: str) -> RunResult:
        return next(r for r in self.results if r.policy.startswith(prefix))


def lower_bound(physics: Physics, workload: Workload) -> float:
    """All compute back to back plus one cold load per stage."""
    compute = 0.0
    for stage in physics.stages:
        items = len(workload.jobs) if stage.name == STAGE_ORDER[0] else workload.objects
        compute += items * stage.run_seconds
    return compute + len(physics.stages) * physics.cold_load_seconds


def run_grid(seed: int = 7) -> list[Cell]:
    cells = []
    for workload in (single_job(), concurrent_jobs(seed)):
        for cold in COLD_LOADS:
            physics = production_physics(cold)
            bound = lower_bound(physics, workload)
            for gib in BUDGETS_GIB:
                budget = gib * GIB
                results = (
                    run_sequential(physics, workload, budget),
                    run_resident(physics, workload, budget),
                    run_meshpipe(physics, workload, budget),
                )
                cells.append(Cell(workload.name, cold, gib, bound, results))
    return cells


def check_targets(cells: list[Cell]) -> list[tuple[str, bool]]:
    """The task's targets, each with whether it holds."""
    checks = []
    peak_ok = all(
        r.peak_bytes <= c.budget_gib * GIB for c in cells for r in c.results if r.feasible
    )
    checks.append(("peak VRAM <= budget in every feasible cell", peak_ok))
    for c in cells:
        if c.budget_gib == 24 and c.cold_load == 15.0 and c.workload.startswith("8 "):
            mesh, seq = c.result("(c)"), c.result("(a)")
            checks.append(
                (f"24 GiB, 8 jobs, 15 s: (c) makespan {mesh.makespan:.0f} s <= 1.15 x lower "
                 f"bound {c.lower_bound:.0f} s", mesh.makespan <= 1.15 * c.lower_bound)
            )  # fmt: skip
            checks.append(
                (f"24 GiB, 8 jobs, 15 s: (c) {mesh.makespan:.0f} s <= 0.7 x (a) "
                 f"{seq.makespan:.0f} s", mesh.makespan <= 0.7 * seq.makespan)
            )  # fmt: skip
    return checks
