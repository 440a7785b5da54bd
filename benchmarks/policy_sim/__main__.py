"""`python -m benchmarks.policy_sim [--seed N] [--out DIR]`: print the comparison table and
save markdown, JSON and a PNG plot; exit 1 when a target is missed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.policy_sim import ordering
from benchmarks.policy_sim.grid import check_targets, run_grid
from benchmarks.policy_sim.physics import ASSUMPTIONS
from benchmarks.policy_sim.report import HEADER, row, save


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.policy_sim", description=__doc__)
    parser.add_argument("--seed", type=int, default=7, help="seed of the 8-job workload")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    cells = run_grid(args.seed)
    checks = check_targets(cells)
    print(HEADER)
    for cell in cells:
        for result in cell.results:
            print(row(cell, result))
    print("\nAssumptions:")
    for quantity, value, source in ASSUMPTIONS:
        print(f"- {quantity}: {value} [{source}]")
    print("\nTargets:")
    for name, ok in checks:
        print(f"- {'met' if ok else 'MISSED'}: {name}")
    pairs = ordering.run_pairs()
    print("\nJob order, before (ready) and after (job), policy (c):")
    print("\n".join(ordering.table(pairs)))
    seeds_24 = [p for p in pairs if p.budget_gib == 24]
    checks.append(
        (f"24 GiB, seeds {seeds_24[0].seed}-{seeds_24[-1].seed}: median job <= "
         f"{ordering.MEDIAN_TARGET} x makespan, makespan <= {ordering.MAKESPAN_TARGET} x the "
         "ready order's", all(p.met for p in seeds_24))
    )  # fmt: skip
    print(f"- {'met' if checks[-1][1] else 'MISSED'}: {checks[-1][0]}")
    command = f"python -m benchmarks.policy_sim --seed {args.seed}"
    paths = save(cells, checks, args.out, command) + ordering.save(pairs, args.out, command)
    for path in paths:
        print(f"wrote {path}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
