"""Which stage the GPU serves next: batching by stage across jobs with an age bound
(docs/design.md §Scheduling). Pure: the lease-aware dispatcher and the policy simulator
(benchmarks/policy_sim) call the same function.

Given each stage's queue of ready work, which stages are resident and how much of the
budget is free, `choose_next_batch` returns the stage to run and the items to give it:

1. starvation bound: if some item has waited `age_bound_seconds` or more, its stage goes
   next, whatever it costs (the oldest such item decides);
2. otherwise no swap if avoidable: a stage that is resident, or that fits in the free budget
   without evicting anyone, goes first; among those the most downstream stage (finishing
   objects first lowers latency and drains intermediate work), then the oldest item;
3. otherwise the stage with the most queued work (one swap amortised over the largest
   batch), then the oldest item.

A batch is at most `max_batch` items of one stage, oldest first. Co-residency decisions
(what to evict) belong to the arbiter (LRU reclaim), not to this function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Reason = Literal["aged", "resident", "fits", "swap"]


@dataclass(frozen=True)
class WorkItem:
    """One unit of stage work: an image (detector) or an object crop (later stages)."""

    job_id: str
    object_index: int
    ready_at: float  # when it entered this stage's queue


@dataclass(frozen=True)
class StageView:
    """A stage as the scheduler sees it now."""

    name: str
    position: int  # 0 = first stage of the pipeline
    queue: Sequence[WorkItem]  # ready items, oldest first
    resident: bool  # weights on the device (lease held)
    lease_bytes: int  # what bringing it up would take from the budget (model + context)
    max_batch: int = 8


@dataclass(frozen=True)
class BatchPolicy:
    """Knobs of the batching policy."""

    age_bound_seconds: float = 120.0


@dataclass(frozen=True)
class Batch:
    """The decision: run `items` on `stage`."""

    stage: str
    items: tuple[WorkItem, ...]
    reason: Reason


def choose_next_batch(
    stages: Sequence[StageView], now: float, free_bytes: int, policy: BatchPolicy
) -> Batch | None:
    """The next batch to run, or None when no stage has work."""
    ready = [s for s in stages if s.queue]
    if not ready:
        return None
    aged = [s for s in ready if now - _oldest(s) >= policy.age_bound_seconds]
    if aged:
        return _batch(min(aged, key=_oldest), "aged")
    cheap = [s for s in ready if s.resident or s.lease_bytes <= free_bytes]
    if cheap:
        best = min(cheap, key=lambda s: (not s.resident, -s.position, _oldest(s)))
        return _batch(best, "resident" if best.resident else "fits")
    return _batch(min(ready, key=lambda s: (-len(s.queue), _oldest(s))), "swap")


def _oldest(stage: StageView) -> float:
    return min(item.ready_at for item in stage.queue)


def _batch(stage: StageView, reason: Reason) -> Batch:
    items = sorted(stage.queue, key=lambda i: i.ready_at)[: max(1, stage.max_batch)]
    return Batch(stage.name, tuple(items), reason)
