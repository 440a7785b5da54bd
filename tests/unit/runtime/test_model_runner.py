"""ModelRunner lifecycle: lazy load, one load for N, idle park/unload, bounds, failures, leases."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from meshpipe.errors import FailedPrecondition, ResourceExhausted
from meshpipe.runtime.metrics import StageMetrics
from meshpipe.runtime.model import ModelRunner, ModelState
from meshpipe.runtime.settings import StageSettings
from tests.unit.runtime.fakes import FakeBackend


def make_runner(
    backend: FakeBackend, lease: object | None = None, **overrides: object
) -> ModelRunner[FakeBackend]:
    settings = StageSettings(**{"park_after": 0, "unload_after": 0, **overrides})  # type: ignore[arg-type]
    metrics = StageMetrics("fake", CollectorRegistry())
    return ModelRunner("fake", backend, settings, metrics, lease=lease)  # type: ignore[arg-type]


def metric(runner: ModelRunner[FakeBackend], name: str, **labels: str) -> float:
    value = runner.metrics.registry.get_sample_value(name, {"stage": "fake", **labels})
    return 0.0 if value is None else value


async def test_first_request_loads_and_warms_up_lazily() -> None:
    backend = FakeBackend()
    runner = make_runner(backend)
    assert runner.state is ModelState.COLD and backend.calls == []
    result, report = await runner.run("Infer", backend.infer, 21)
    assert result == 42
    assert backend.calls == ["load", "warmup"]
    assert runner.state is ModelState.RESIDENT
    assert report.load_wait_seconds >= 0
    await runner.run("Infer", backend.infer, 1)
    assert backend.calls == ["load", "warmup"], "a resident model must not reload"
    assert metric(runner, "meshpipe_stage_model_state", state="resident") == 1
    assert metric(runner, "meshpipe_stage_transitions_total", kind="load", source="cold") == 1
    assert metric(runner, "meshpipe_stage_requests_total", method="Infer", code="OK") == 2


async def test_concurrent_first_requests_trigger_exactly_one_load() -> None:
    backend = FakeBackend(load_seconds=0.2)
    runner = make_runner(backend, max_concurrency=4)
    results = await asyncio.gather(*(runner.run("Infer", backend.infer, i) for i in range(8)))
    assert sorted(r for r, _ in results) == [2 * i for i in range(8)]
    assert backend.calls.count("load") == 1
    assert runner.counters.cold_loads == 1


async def test_concurrency_is_bounded_by_max_concurrency() -> None:
    backend = FakeBackend(infer_seconds=0.05)
    runner = make_runner(backend, max_concurrency=2)
    await asyncio.gather(*(runner.run("Infer", backend.infer, i) for i in range(6)))
    assert backend.max_concurrent == 2


async def test_queue_bound_refuses_with_resource_exhausted() -> None:
    backend = FakeBackend(infer_seconds=0.2)
    runner = make_runner(backend, max_concurrency=1, max_queue=1)
    first = asyncio.create_task(runner.run("Infer", backend.infer, 1))
    second = asyncio.create_task(runner.run("Infer", backend.infer, 2))
    await asyncio.sleep(0.05)
    with pytest.raises(ResourceExhausted, match="queue is full"):
        await runner.run("Infer", backend.infer, 3)
    assert [r for r, _ in await asyncio.gather(first, second)] == [2, 4]
    assert (
        metric(runner, "meshpipe_stage_requests_total", method="Infer", code="RESOURCE_EXHAUSTED")
        == 1
    )


async def test_idle_timers_park_then_unload_without_any_caller() -> None:
    backend = FakeBackend()
    runner = make_runner(backend, park_after=0.15, unload_after=0.15)
    await runner.start()
    try:
        await runner.run("Infer", backend.infer, 1)
        assert runner.state is ModelState.RESIDENT
        await asyncio.sleep(0.3)
        assert runner.state is ModelState.PARKED
        await asyncio.sleep(0.3)
        assert runner.state is ModelState.COLD
        assert backend.calls == ["load", "warmup", "park", "unload"]
        # A request after parking wakes rather than reloads.
        await runner.run("Infer", backend.infer, 1)
        await asyncio.sleep(0.25)
        assert runner.state is ModelState.PARKED
        await runner.run("Infer", backend.infer, 1)
        assert backend.calls[-3:] == ["park", "wake", "warmup"]
        assert metric(runner, "meshpipe_stage_transitions_total", kind="load", source="parked") == 1
    finally:
        await runner.close()
    assert runner.state is ModelState.COLD


async def test_idle_timer_does_not_park_a_busy_model() -> None:
    backend = FakeBackend(infer_seconds=0.4)
    runner = make_runner(backend, park_after=0.05)
    await runner.start()
    try:
        await runner.run("Infer", backend.infer, 1)
        assert runner.state is ModelState.RESIDENT, "parked while a request was running"
    finally:
        await runner.close()


async def test_failed_load_returns_to_cold_and_next_request_retries() -> None:
    backend = FakeBackend()
    backend.fail_next_load = True
    runner = make_runner(backend)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await runner.run("Infer", backend.infer, 1)
    assert runner.state is ModelState.COLD
    assert metric(runner, "meshpipe_stage_requests_total", method="Infer", code="INTERNAL") == 1
    result, _ = await runner.run("Infer", backend.infer, 5)
    assert result == 10
    assert backend.calls == ["load", "unload", "load", "warmup"]


async def test_unload_waits_for_running_requests_or_refuses() -> None:
    backend = FakeBackend(infer_seconds=0.3)
    runner = make_runner(backend)
    task = asyncio.create_task(runner.run("Infer", backend.infer, 1))
    await asyncio.sleep(0.1)
    with pytest.raises(FailedPrecondition, match="serving 1 request"):
        await runner.unload(ModelState.COLD, wait_for_idle=False)
    await runner.unload(ModelState.PARKED, wait_for_idle=True)
    assert task.done() and (await task)[0] == 2
    assert runner.state is ModelState.PARKED


class RecordingLease:
    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    async def acquire(self, nbytes: int) -> None:
        self.events.append(("acquire", nbytes))

    async def release(self) -> None:
        self.events.append(("release", 0))

    async def report_peak(self, nbytes: int) -> None:
        self.events.append(("peak", nbytes))


async def test_lease_is_held_exactly_while_weights_are_on_the_device() -> None:
    backend = FakeBackend()
    lease = RecordingLease()
    runner = make_runner(backend, lease=lease)
    backend.peak = 5000
    await runner.run("Infer", backend.infer, 1)
    assert lease.events == [("acquire", 1000), ("peak", 5000)]
    assert runner.footprint_bytes == 5000, "the footprint must be learned from the peak"
    await runner.unload(ModelState.PARKED)
    await runner.run("Infer", backend.infer, 1)
    assert lease.events[2:] == [("release", 0), ("acquire", 5000), ("peak", 5000)]
    await runner.unload(ModelState.COLD)
    assert lease.events[-1] == ("release", 0)
    await runner.unload(ModelState.COLD)
    assert [e for e, _ in lease.events].count("release") == 2, "double release"
