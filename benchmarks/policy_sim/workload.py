"""Seeded workloads: jobs with their arrival time and object count."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    job_id: str
    arrival: float
    objects: int


@dataclass(frozen=True)
class Workload:
    name: str
    jobs: tuple[Job, ...]

    @property
    def objects(self) -> int:
        return sum(j.objects for j in self.jobs)


def single_job() -> Workload:
    """1 job x 4 objects."""
    return Workload("1 job x 4 objects", (Job("job-0", 0.0, 4),))


def concurrent_jobs(seed: int, jobs: int = 8) -> Workload:
    """`jobs` jobs submitted together, 1-6 objects each (seeded)."""
    rng = random.Random(seed)
    return Workload(
        f"{jobs} concurrent jobs x 1-6 objects (seed {seed})",
        tuple(Job(f"job-{i}", 0.0, rng.randint(1, 6)) for i in range(jobs)),
    )
