"""choose_next_batch: age bound first, then no swap if avoidable, then the biggest batch
(the "ready" item order, kept as a selectable policy); then the "job" order: earlier jobs'
items first, of jobs that came together the smaller first, aging past that."""

from __future__ import annotations

from orchestrator.policy import BatchPolicy, StageView, WorkItem, choose_next_batch

GIB = 1 << 30
POLICY = BatchPolicy(age_bound_seconds=100.0, order="ready")
JOB_ORDER = BatchPolicy(age_bound_seconds=100.0, aging_seconds=50.0, object_seconds=30.0)


def view(name: str, position: int, ready: list[float], resident: bool = False, gib: int = 10,
         max_batch: int = 8) -> StageView:  # fmt: skip
    items = tuple(WorkItem(f"job-{i}", 0, t) for i, t in enumerate(ready))
    return StageView(name, position, items, resident, gib * GIB, max_batch)


def test_nothing_to_do() -> None:
    assert choose_next_batch([view("shape", 2, [])], 0.0, 0, POLICY) is None


def test_the_resident_stage_keeps_the_gpu_instead_of_swapping() -> None:
    stages = [view("shape", 2, [5.0, 6.0], resident=True), view("texture", 3, [1.0])]
    batch = choose_next_batch(stages, 10.0, 2 * GIB, POLICY)
    assert batch is not None and batch.stage == "shape" and batch.reason == "resident"
    assert [i.ready_at for i in batch.items] == [5.0, 6.0]


def test_an_item_past_the_age_bound_forces_the_swap() -> None:
    stages = [view("shape", 2, [50.0], resident=True), view("texture", 3, [1.0])]
    batch = choose_next_batch(stages, 101.0, 0, POLICY)
    assert batch is not None and batch.stage == "texture" and batch.reason == "aged"


def test_a_stage_that_fits_without_eviction_needs_no_swap() -> None:
    stages = [view("matting", 1, [3.0] * 20), view("texture", 3, [1.0], gib=10)]
    batch = choose_next_batch(stages, 10.0, 12 * GIB, POLICY)
    assert batch is not None and batch.stage == "texture" and batch.reason == "fits"


def test_downstream_first_among_resident_stages() -> None:
    stages = [view("matting", 1, [1.0], resident=True), view("shape", 2, [9.0], resident=True)]
    batch = choose_next_batch(stages, 10.0, 0, POLICY)
    assert batch is not None and batch.stage == "shape"


def test_a_swap_goes_to_the_biggest_queue_in_batches_oldest_first() -> None:
    stages = [view("shape", 2, [4.0, 3.0, 2.0], max_batch=2), view("texture", 3, [1.0])]
    batch = choose_next_batch(stages, 10.0, 0, POLICY)
    assert batch is not None and batch.stage == "shape" and batch.reason == "swap"
    assert [i.ready_at for i in batch.items] == [2.0, 3.0]


def item(job: str, seq: int, ready: float, since: float, objects: int = 1) -> WorkItem:
    return WorkItem(job, seq, ready, job_since=since, job_objects=objects)


def test_job_order_serves_the_earlier_job_first_whatever_entered_the_queue_first() -> None:
    later = item("late", 1, ready=1.0, since=100.0)
    earlier = item("early", 2, ready=5.0, since=0.0)
    stages = [StageView("shape", 2, (later, earlier), True, 10 * GIB, max_batch=1)]
    batch = choose_next_batch(stages, 10.0, 0, JOB_ORDER)
    assert batch is not None and batch.items == (earlier,)
    old = choose_next_batch(stages, 10.0, 0, POLICY)
    assert old is not None and old.items == (later,), "the ready order: first in the queue"


def test_of_jobs_that_came_together_the_smaller_goes_first() -> None:
    big = item("big", 1, ready=1.0, since=0.0, objects=6)
    small = item("small", 2, ready=1.0, since=0.0, objects=1)
    stages = [StageView("texture", 3, (big, small), True, 10 * GIB, max_batch=1)]
    batch = choose_next_batch(stages, 10.0, 0, JOB_ORDER)
    assert batch is not None and batch.items == (small,)


def test_aging_lets_a_later_job_s_old_item_through() -> None:
    old_late = item("late", 1, ready=0.0, since=100.0)
    fresh_early = item("early", 2, ready=55.0, since=0.0)
    stages = [StageView("shape", 2, (fresh_early, old_late), True, 10 * GIB, max_batch=1)]
    before = choose_next_batch(stages, 49.0, 0, JOB_ORDER)
    assert before is not None and before.items == (fresh_early,)
    after = choose_next_batch(stages, 56.0, 0, JOB_ORDER)  # waited 56 s > aging 50 s
    assert after is not None and after.items == (old_late,)


def test_job_order_runs_the_earliest_job_s_stage_when_it_needs_no_swap() -> None:
    matting = view("matting", 1, [1.0], resident=True)  # job-0, arrived at 0
    texture = StageView("texture", 3, (item("j", 5, 2.0, since=-10.0),), False, 2 * GIB)
    batch = choose_next_batch([matting, texture], 10.0, 4 * GIB, JOB_ORDER)
    assert batch is not None and batch.stage == "texture" and batch.reason == "fits"
    # texture would need a swap: the resident stage goes on instead (no swap if avoidable)
    batch = choose_next_batch([matting, texture], 10.0, 1 * GIB, JOB_ORDER)
    assert batch is not None and batch.stage == "matting" and batch.reason == "resident"
