"""choose_next_batch: age bound first, then no swap if avoidable, then the biggest batch."""

from __future__ import annotations

from orchestrator.policy import BatchPolicy, StageView, WorkItem, choose_next_batch

GIB = 1 << 30
POLICY = BatchPolicy(age_bound_seconds=100.0)


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
