"""LeaseAwareDispatcher with a fake lease view: overlap while leases fit, one batch of one
leased stage at a time when they do not (by the policy, with its age bound), stages without
a lease never held back, bounded queues and cancellation; and `lease_state` itself."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest

from meshpipe.errors import ResourceExhausted
from orchestrator.arbiter.ledger import HolderView, LedgerSnapshot
from orchestrator.dispatch import LeaseAwareDispatcher
from orchestrator.domain import Stage
from orchestrator.lease_view import LeaseState, StageLease, lease_state
from orchestrator.metrics import OrchestratorMetrics
from orchestrator.policy import BatchPolicy
from orchestrator.sending import JobKey

GIB = 1 << 30
CTX = GIB // 2


class FakeView:
    """Matting, shape and texture need 2 GiB each; the budget decides whether they fit.
    The stage that ran last is resident."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.resident = ""

    def state(self) -> LeaseState:
        stages = {
            s: StageLease(2 * GIB, resident=s == self.resident, has_context=True)
            for s in ("matting", "shape", "texture")
        }
        free = self.budget - 3 * CTX - (2 * GIB if self.resident else 0)
        return LeaseState(self.budget, free, CTX, stages)


class Recorder:
    """Stage calls that record their order and concurrency."""

    def __init__(self, view: FakeView) -> None:
        self.view = view
        self.order: list[str] = []
        self.running: set[str] = set()
        self.peak_stages = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def call(self, stage: Stage, tag: str) -> str:
        await self.gate.wait()
        self.order.append(f"{stage.value}:{tag}")
        self.view.resident = stage.value if stage is not Stage.DETECTOR else self.view.resident
        self.running.add(stage.value)
        self.peak_stages = max(self.peak_stages, len(self.running - {"detector"}))
        await asyncio.sleep(0.01)
        self.running.discard(stage.value)
        return tag


def make(view: FakeView, age: float = 120.0, max_queue: int = 10) -> LeaseAwareDispatcher:
    return LeaseAwareDispatcher(
        {s: 2 for s in Stage},
        max_queue,
        OrchestratorMetrics(),
        view,
        BatchPolicy(age_bound_seconds=age),
        max_batch=8,
        recheck_seconds=0.02,
    )


@pytest.fixture
async def tight() -> AsyncIterator[tuple[LeaseAwareDispatcher, FakeView]]:
    view = FakeView(budget=4 * GIB)  # 1.5 GiB contexts + one 2 GiB model: no two fit
    d = make(view)
    yield d, view
    await d.close()


async def test_stages_overlap_when_all_leases_fit() -> None:
    view = FakeView(budget=16 * GIB)
    d, rec = make(view), Recorder(view)
    calls = [
        d.run(stage, "j", functools.partial(rec.call, stage, str(i)))
        for i in range(2)
        for stage in (Stage.MATTING, Stage.SHAPE, Stage.TEXTURE)
    ]
    assert await asyncio.gather(*calls) == ["0", "0", "0", "1", "1", "1"]
    await d.close()
    assert rec.peak_stages == 3


async def test_leased_stages_take_turns_in_batches_when_they_do_not_fit(
    tight: tuple[LeaseAwareDispatcher, FakeView],
) -> None:
    d, view = tight
    rec = Recorder(view)
    rec.gate.clear()  # queue everything first, interleaved by stage
    stages = (Stage.MATTING, Stage.SHAPE, Stage.TEXTURE)
    calls = [
        asyncio.create_task(d.run(s, f"job{i}", functools.partial(rec.call, s, str(i))))
        for i in range(3)
        for s in stages
    ]
    await asyncio.sleep(0.05)
    rec.gate.set()
    await asyncio.gather(*calls)
    assert rec.peak_stages == 1, "never two leased stages at once"
    runs = [rec.order[0].split(":")[0]]
    for entry in rec.order[1:]:
        if entry.split(":")[0] != runs[-1]:
            runs.append(entry.split(":")[0])
    assert len(runs) == 3, f"one batch per stage, all jobs' work together: {rec.order}"


@pytest.mark.parametrize(("age_bound", "expected"), [(120.0, "shape"), (0.05, "matting")])
async def test_the_resident_stage_goes_on_until_the_age_bound(
    age_bound: float, expected: str
) -> None:
    view = FakeView(budget=4 * GIB)
    d = make(view, age=age_bound)
    order: list[str] = []
    first_done = asyncio.Event()

    def call(stage: Stage) -> functools.partial[Coroutine[Any, Any, None]]:
        async def run(tag: str) -> None:
            view.resident = stage.value
            order.append(tag)
            if tag == "shape-first":
                await first_done.wait()

        return functools.partial(run, f"{stage.value}-{len(order)}")

    async def first() -> None:
        view.resident = "shape"
        order.append("shape-first")
        await first_done.wait()

    running = asyncio.create_task(d.run(Stage.SHAPE, "a", first))
    await asyncio.sleep(0.03)
    matting = asyncio.create_task(d.run(Stage.MATTING, "b", call(Stage.MATTING)))
    await asyncio.sleep(0.1)  # the matting call waits past a short age bound
    shape = asyncio.create_task(d.run(Stage.SHAPE, "c", call(Stage.SHAPE)))
    await asyncio.sleep(0.03)
    first_done.set()
    await asyncio.gather(running, matting, shape)
    await d.close()
    assert order[0] == "shape-first" and order[1].startswith(expected), order


async def test_a_stage_without_a_lease_is_never_held_back(
    tight: tuple[LeaseAwareDispatcher, FakeView],
) -> None:
    d, _ = tight
    blocked = asyncio.Event()

    async def waits_for_lease() -> None:
        await blocked.wait()

    shape = asyncio.create_task(d.run(Stage.SHAPE, "a", waits_for_lease))
    await asyncio.sleep(0.05)
    assert d.in_flight(Stage.SHAPE) == 1
    texture = asyncio.create_task(d.run(Stage.TEXTURE, "b", waits_for_lease))

    async def detect() -> str:
        return "found"

    assert await asyncio.wait_for(d.run(Stage.DETECTOR, "c", detect), 1) == "found"
    assert d.in_flight(Stage.TEXTURE) == 0 and d.depth(Stage.TEXTURE) == 1
    blocked.set()
    await asyncio.gather(shape, texture)


async def test_queue_bound_and_cancellation_in_batched_mode() -> None:
    view = FakeView(budget=4 * GIB)
    d = make(view, max_queue=2)
    started = asyncio.Event()
    gate = asyncio.Event()
    cancelled: list[str] = []

    async def call() -> None:
        started.set()
        try:
            await gate.wait()
        except asyncio.CancelledError:
            cancelled.append("in flight")
            raise

    running = asyncio.create_task(d.run(Stage.SHAPE, "j", call))
    await asyncio.wait_for(started.wait(), 1)
    queued = [asyncio.create_task(d.run(Stage.MATTING, "j", call)) for _ in range(2)]
    await asyncio.sleep(0.05)
    assert d.depth(Stage.MATTING) == 2
    with pytest.raises(ResourceExhausted, match="matting queue is full"):
        await d.run(Stage.MATTING, "j", call)
    queued[0].cancel()
    running.cancel()
    await asyncio.sleep(0.05)
    assert cancelled == ["in flight"]
    assert d.depth(Stage.MATTING) <= 1
    gate.set()
    await queued[1]
    await d.close()


async def test_errors_reach_the_caller(tight: tuple[LeaseAwareDispatcher, FakeView]) -> None:
    d, _ = tight

    async def broken() -> None:
        raise ValueError("stage says no")

    with pytest.raises(ValueError, match="stage says no"):
        await d.run(Stage.SHAPE, "j", broken)

    async def fine() -> int:
        return 7

    assert await d.run(Stage.SHAPE, "j", fine) == 7


def test_lease_state_from_the_ledger() -> None:
    holder = HolderView(
        holder_id="shape-1", stage="shape", pid=1, model_bytes=3 * GIB, context_bytes=CTX,
        requested_bytes=3 * GIB, held_seconds=1.0, reclaiming=False, busy=False,
        idle_seconds=0.5, device_bytes=0,
    )  # fmt: skip
    snap = LedgerSnapshot(
        device_index=0, budget_bytes=6 * GIB, granted_bytes=3 * GIB + CTX, high_water_bytes=0,
        holders=(holder,), queue=(), learned={"matting": 2 * GIB},
    )  # fmt: skip
    state = lease_state(snap, CTX, {"texture": 3 * GIB, "detector": 0})
    assert {s: state.needs_lease(s) for s in ("detector", "matting", "shape", "texture")} == {
        "detector": False,
        "matting": True,
        "shape": True,
        "texture": True,
    }
    assert state.resident("shape") and not state.resident("matting")
    assert state.lease_bytes("shape") == 3 * GIB  # its context is already charged
    assert state.lease_bytes("matting") == 2 * GIB + CTX
    assert state.free_bytes == 6 * GIB - 3 * GIB - CTX
    assert not state.all_fit()  # 8 GiB of models + 3 contexts > 6 GiB
    assert lease_state(snap, CTX, {}).stages.keys() == {"matting", "shape"}
    roomy = LedgerSnapshot(0, 16 * GIB, 0, 0, (), (), {"matting": 2 * GIB})
    assert lease_state(roomy, CTX, {"shape": 3 * GIB}).all_fit()
    assert LeaseState().all_fit(), "no arbiter in sight: stages overlap"


async def job_order(d: LeaseAwareDispatcher, pause: float) -> list[str]:
    """One shape call holds the stage; a later job's request is queued, `pause` passes,
    then an earlier job's request is queued; the order in which they are sent."""
    order: list[str] = []
    gate = asyncio.Event()

    async def hold() -> None:
        await gate.wait()

    async def record(tag: str) -> None:
        order.append(tag)

    running = asyncio.create_task(d.run(Stage.SHAPE, JobKey("first", 0.0), hold))
    await asyncio.sleep(0.05)
    late = JobKey("late", since=1000.0)
    early = JobKey("early", since=10.0)
    calls = [asyncio.create_task(d.run(Stage.SHAPE, late, functools.partial(record, "late")))]
    await asyncio.sleep(pause)
    calls.append(asyncio.create_task(d.run(Stage.SHAPE, early, functools.partial(record, "early"))))
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.gather(running, *calls)
    await d.close()
    return order


@pytest.mark.parametrize("budget", [16 * GIB, 4 * GIB])  # leases fit / batched
async def test_an_earlier_job_s_request_goes_before_a_later_job_s(budget: int) -> None:
    d = LeaseAwareDispatcher(
        {s: 1 for s in Stage}, 10, OrchestratorMetrics(), FakeView(budget),
        BatchPolicy(aging_seconds=60.0), max_batch=1, recheck_seconds=0.02,
    )  # fmt: skip
    assert await job_order(d, pause=0.05) == ["early", "late"]


async def test_aging_lets_a_later_job_s_old_request_through() -> None:
    d = LeaseAwareDispatcher(
        {s: 1 for s in Stage}, 10, OrchestratorMetrics(), FakeView(16 * GIB),
        BatchPolicy(aging_seconds=0.1), max_batch=1, recheck_seconds=0.02,
    )  # fmt: skip
    assert await job_order(d, pause=0.2) == ["late", "early"]


async def test_stages_on_another_device_are_scheduled_by_that_device_s_ledger() -> None:
    """Texture on device 1 (it fits there alone) runs while shape holds device 0, where
    matting must wait for its turn; on one device texture would wait too (test above)."""
    views = {0: FakeView(budget=4 * GIB), 1: FakeView(budget=4 * GIB)}
    d = LeaseAwareDispatcher(
        {s: 1 for s in Stage}, 10, OrchestratorMetrics(), views, BatchPolicy(),
        recheck_seconds=0.02, placement={Stage.TEXTURE: 1},
    )  # fmt: skip
    gate = asyncio.Event()

    async def held() -> None:
        await gate.wait()

    shape = asyncio.create_task(d.run(Stage.SHAPE, "a", held))
    await asyncio.sleep(0.05)
    matting = asyncio.create_task(d.run(Stage.MATTING, "b", held))
    texture = asyncio.create_task(d.run(Stage.TEXTURE, "c", held))
    await asyncio.sleep(0.1)
    assert d.in_flight(Stage.SHAPE) == 1 and d.in_flight(Stage.TEXTURE) == 1
    assert d.in_flight(Stage.MATTING) == 0 and d.depth(Stage.MATTING) == 1
    gate.set()
    await asyncio.gather(shape, matting, texture)
    await d.close()


class Loads:
    """A loader (StageAdmin.Load stand-in) that records the stages it was asked for and
    makes each resident in the fake view, or fails."""

    def __init__(self, view: FakeView, fail: bool = False) -> None:
        self.view, self.fail = view, fail
        self.asked: list[str] = []

    async def __call__(self, stage: Stage) -> float:
        self.asked.append(stage.value)
        await asyncio.sleep(0.01)
        if self.fail:
            raise ResourceExhausted(f"{stage.value} cannot load")
        return 1.0


def with_loader(
    view: FakeView, loads: Loads, metrics: OrchestratorMetrics | None = None
) -> LeaseAwareDispatcher:
    return LeaseAwareDispatcher(
        {s: 1 for s in Stage}, 10, metrics or OrchestratorMetrics(), view, BatchPolicy(),
        recheck_seconds=0.02, loader=loads,
    )  # fmt: skip


async def detector_job(d: LeaseAwareDispatcher, seconds: float) -> None:
    """One job's first request (detector: no lease) held for `seconds`."""
    await d.run(Stage.DETECTOR, "j", functools.partial(asyncio.sleep, seconds))


async def test_leased_stages_that_are_not_resident_are_loaded_ahead_while_all_fit() -> None:
    view = FakeView(budget=16 * GIB)
    view.resident = "shape"
    loads = Loads(view)
    metrics = OrchestratorMetrics()
    d = with_loader(view, loads, metrics)
    await asyncio.sleep(0.1)
    assert loads.asked == [], "no jobs in flight: nothing is loaded"
    await detector_job(d, 0.15)
    await d.close()
    assert sorted(loads.asked) == ["matting", "texture"], "each once; shape was resident"
    samples = {
        s.labels["stage"]: s.value
        for m in metrics.registry.collect()
        if m.name == "meshpipe_orchestrator_load_ahead"
        for s in m.samples
        if s.name.endswith("_total")
    }
    assert samples == {"matting": 1.0, "texture": 1.0}


async def test_nothing_is_loaded_ahead_when_the_leases_do_not_all_fit() -> None:
    view = FakeView(budget=4 * GIB)  # only one model at a time: batches, never load-ahead
    loads = Loads(view)
    d = with_loader(view, loads)
    await detector_job(d, 0.15)
    await d.close()
    assert loads.asked == []


async def test_a_stage_is_loaded_ahead_once_per_busy_period_even_when_that_fails() -> None:
    view = FakeView(budget=16 * GIB)  # never shows the loaded stages resident
    loads = Loads(view, fail=True)
    d = with_loader(view, loads)
    await detector_job(d, 0.3)  # ~15 dispatch rounds, one busy period
    await asyncio.sleep(0.1)  # idle: the next job starts a new busy period
    await detector_job(d, 0.1)
    await d.close()
    assert sorted(loads.asked) == sorted(2 * ["matting", "shape", "texture"])
