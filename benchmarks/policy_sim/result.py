"""What one policy achieved on one workload, budget and cold-load time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class RunResult:
    """Makespan, latencies, transitions and peak memory of one simulated run."""

    policy: str
    feasible: bool = True
    reason: str = ""
    makespan: float = 0.0
    job_latencies: list[float] = field(default_factory=list)
    cold_loads: int = 0
    wakes: int = 0
    parks: int = 0
    peak_bytes: int = 0

    @property
    def p50(self) -> float:
        return quantile(self.job_latencies, 0.50)

    @property
    def p95(self) -> float:
        return quantile(self.job_latencies, 0.95)


def infeasible(policy: str, reason: str) -> RunResult:
    return RunResult(policy, feasible=False, reason=reason)


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (the value of the ceil(q * n)-th job)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]
