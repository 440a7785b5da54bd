"""The policy simulator: its targets hold, and its accounting is consistent."""

from __future__ import annotations

from pathlib import Path

from benchmarks.policy_sim import ordering
from benchmarks.policy_sim.__main__ import main
from benchmarks.policy_sim.grid import GIB, check_targets, run_grid
from benchmarks.policy_sim.physics import production_physics
from benchmarks.policy_sim.pipelined import run_meshpipe
from benchmarks.policy_sim.sequential import run_sequential
from benchmarks.policy_sim.workload import concurrent_jobs, single_job


def test_the_targets_hold_and_no_cell_exceeds_its_budget() -> None:
    cells = run_grid(seed=7)
    assert len(cells) == 2 * 3 * 5
    assert all(ok for _, ok in check_targets(cells)), check_targets(cells)
    for cell in cells:
        for r in cell.results:
            if r.feasible:
                assert r.peak_bytes <= cell.budget_gib * GIB, (cell, r)
                assert r.makespan >= cell.lower_bound - 1e-6, "beat the lower bound"


def test_the_seed_script_reloads_every_stage_for_every_job() -> None:
    workload = concurrent_jobs(seed=7)
    r = run_sequential(production_physics(15.0), workload, 24 * GIB)
    assert r.cold_loads == 4 * len(workload.jobs)
    assert sorted(r.job_latencies) == r.job_latencies, "one job at a time, in order"


def test_meshpipe_loads_each_stage_once_and_parks_to_make_room() -> None:
    r = run_meshpipe(production_physics(15.0), concurrent_jobs(seed=7), 24 * GIB)
    assert r.feasible and r.cold_loads == 4 and r.parks >= 1
    too_small = run_meshpipe(production_physics(15.0), single_job(), 8 * GIB)
    assert not too_small.feasible and "shape" in too_small.reason


def test_the_cli_writes_markdown_json_and_a_plot(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert "## Assumptions" in (tmp_path / "policy_sim.md").read_text()
    assert (tmp_path / "policy_sim.json").stat().st_size > 1000
    assert (tmp_path / "policy_sim.png").read_bytes()[:4] == b"\x89PNG"
    assert "| before makespan s |" in (tmp_path / "policy_sim_job_order.md").read_text()


def test_job_order_finishes_the_median_job_earlier_without_a_longer_makespan() -> None:
    pairs = ordering.run_pairs(seeds=(7, 1, 2, 3, 4, 5))
    for p in pairs:
        assert p.after.makespan <= 1.05 * p.before.makespan, p
        if p.budget_gib == 24:
            assert p.after.p50 <= 0.6 * p.after.makespan, p
    seed7 = next(p for p in pairs if p.seed == 7 and p.budget_gib == 24)
    assert seed7.before.p50 / seed7.before.makespan > 0.7, "the old order: late for everyone"
