"""Which stage the GPU serves next, and which items go in its batch: batching by stage
across jobs, in job order, with an age bound
(docs/design.md §Scheduling). Pure: the lease-aware dispatcher and the
policy simulator (benchmarks/policy_sim) call the same function.

Given each stage's queue of ready work, which stages are resident and how much of the
budget is free, `choose_next_batch` returns the stage to run and the items to give it.

Items are ranked by `BatchPolicy.order`:

* ``"job"`` (the default): jobs in the order of their due time, arrival
  (`WorkItem.job_since`) + `object_seconds` x the job's objects, so that jobs finish
  roughly in the order they came and, of jobs that came together, the smaller first; an
  item that has waited `aging_seconds` in its queue ranks ahead of every younger one
  (oldest first), so no job's item is held back longer than that by earlier ones;
* ``"ready"`` (the ordering before job order existed, kept for comparison): the item that
  entered its queue first.

The stage:

1. starvation bound: if some item has waited `age_bound_seconds` or more, its stage goes
   next, whatever it costs (the oldest such item decides);
2. with ``"job"`` order, the stage holding the first-ranked item of all queues goes next
   when it is resident or fits in the free budget without evicting anyone (no swap);
   otherwise the most downstream stage that runs without a swap and holds an item of
   that same job;
3. no swap if avoidable: a stage that is resident, or that fits in the free budget
   without evicting anyone, goes first; among those the most downstream stage (finishing
   objects first lowers latency and drains intermediate work), then the first-ranked item;
4. otherwise the stage with the most queued work (one swap amortised over the largest
   batch), then the first-ranked item.

A batch is at most `max_batch` items of one stage, first-ranked first. Co-residency
decisions (what to evict) belong to the arbiter (LRU reclaim), not to this function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Reason = Literal["aged", "resident", "fits", "swap"]
Order = Literal["job", "ready"]


@dataclass(frozen=True)
class WorkItem:
    """One unit of stage work: an image (detector) or an object crop (later stages)."""

    job_id: str
    seq: int  # unique among the queued items (the dispatcher's dispatch sequence number)
    ready_at: float  # when it entered this stage's queue
    job_since: float = 0.0  # when its job arrived
    job_objects: int = 1  # objects of its job (1 while unknown, e.g. at the detector)

    def due(self, object_seconds: float) -> float:
        """Its job's due time: arrival + a nominal time per object; earlier ranks first."""
        return self.job_since + object_seconds * self.job_objects


@dataclass(frozen=True)
class StageView:
    """A stage as the scheduler sees it now."""

    name: str
    position: int  # 0 = first stage of the pipeline
    queue: Sequence[WorkItem]  # ready items
    resident: bool  # weights on the device (lease held)
    lease_bytes: int  # what bringing it up would take from the budget (model + context)
    max_batch: int = 8

    def cheap(self, free_bytes: int) -> bool:
        """Runs without a swap: resident, or fits in the free budget as it is."""
        return self.resident or self.lease_bytes <= free_bytes


@dataclass(frozen=True)
class BatchPolicy:
    """Knobs of the batching policy."""

    age_bound_seconds: float = 120.0  # an item this old makes its stage go next
    aging_seconds: float = 120.0  # "job" order: an item this old ranks ahead of younger ones
    object_seconds: float = 30.0  # "job" order: nominal seconds per object of a job's due time
    order: Order = "job"


@dataclass(frozen=True)
class Batch:
    """The decision: run `items` on `stage`."""

    stage: str
    items: tuple[WorkItem, ...]
    reason: Reason


def rank_key(item: WorkItem, now: float, policy: BatchPolicy) -> tuple[float, ...]:
    """Sort key of an item within and across queues: smaller goes first."""
    if policy.order == "ready":
        return (item.ready_at, item.seq)
    if now - item.ready_at >= policy.aging_seconds:
        return (0, item.ready_at, item.seq)  # aged: oldest first, ahead of job order
    return (1, item.due(policy.object_seconds), item.ready_at, item.seq)


def choose_next_batch(
    stages: Sequence[StageView], now: float, free_bytes: int, policy: BatchPolicy
) -> Batch | None:
    """The next batch to run, or None when no stage has work."""
    ready = [s for s in stages if s.queue]
    if not ready:
        return None
    aged = [s for s in ready if now - _oldest(s) >= policy.age_bound_seconds]
    if aged:
        return _batch(min(aged, key=_oldest), "aged", now, policy)
    cheap = [s for s in ready if s.cheap(free_bytes)]
    if policy.order == "job":
        lead = _lead(ready, cheap, now, free_bytes, policy)
        if lead is not None:
            return _batch(lead, "resident" if lead.resident else "fits", now, policy)
    if cheap:
        best = min(cheap, key=lambda s: (not s.resident, -s.position, _first(s, now, policy)))
        return _batch(best, "resident" if best.resident else "fits", now, policy)
    return _batch(min(ready, key=lambda s: (-len(s.queue), _first(s, now, policy))), "swap",
                  now, policy)  # fmt: skip


def _lead(
    ready: list[StageView],
    cheap: list[StageView],
    now: float,
    free_bytes: int,
    policy: BatchPolicy,
) -> StageView | None:
    """Job order's choice: the stage of the first-ranked item (see the module doc)."""
    head = min(ready, key=lambda s: _first(s, now, policy))
    job = min(head.queue, key=lambda i: rank_key(i, now, policy)).job_id
    if head.cheap(free_bytes):
        return head
    same_job = [s for s in cheap if any(i.job_id == job for i in s.queue)]
    if same_job:
        return max(same_job, key=lambda s: s.position)
    return None


def _first(stage: StageView, now: float, policy: BatchPolicy) -> tuple[float, ...]:
    return min(rank_key(i, now, policy) for i in stage.queue)


def _oldest(stage: StageView) -> float:
    return min(item.ready_at for item in stage.queue)


def _batch(stage: StageView, reason: Reason, now: float, policy: BatchPolicy) -> Batch:
    items = sorted(stage.queue, key=lambda i: rank_key(i, now, policy))
    return Batch(stage.name, tuple(items[: max(1, stage.max_batch)]), reason)
