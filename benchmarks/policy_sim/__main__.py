"""`python -m benchmarks.policy_sim [--seed N] [--out DIR]`: print the comparison table and
save markdown, JSON and a PNG plot; exit 1 when a target is missed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    command = f"python -m benchmarks.policy_sim --seed {args.seed}"
    for path in save(cells, checks, args.out, command):
        print(f"wrote {path}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
