"""Policy (a): the seed Gradio script. One process, one job at a time; per job and stage:
load from disk, run every crop, delete the model and empty the cache."""

from __future__ import annotations

from benchmarks.policy_sim.physics import STAGE_ORDER, Physics
from benchmarks.policy_sim.result import RunResult, infeasible
from benchmarks.policy_sim.workload import Workload

GIB = 1 << 30


def run_sequential(physics: Physics, workload: Workload, budget: int) -> RunResult:
    """Simulate (a); infeasible when one stage alone exceeds the budget."""
    name = "(a) sequential"
    too_big = [s for s in physics.stages if physics.lease_bytes(s.name) > budget]
    if too_big:
        worst = max(too_big, key=lambda s: s.peak_bytes)
        need = physics.lease_bytes(worst.name)
        return infeasible(name, f"{worst.name} alone needs {need / GIB:.1f} GiB")
    result = RunResult(name)
    t = 0.0
    for job in sorted(workload.jobs, key=lambda j: j.arrival):
        t = max(t, job.arrival)
        for stage in physics.stages:
            items = 1 if stage.name == STAGE_ORDER[0] else job.objects
            t += physics.cold_load_seconds + items * stage.run_seconds
            result.cold_loads += 1
        result.job_latencies.append(t - job.arrival)
    result.makespan = t
    result.peak_bytes = max(physics.lease_bytes(s.name) for s in physics.stages)
    return result
