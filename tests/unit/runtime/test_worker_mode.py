"""Worker mode: the model lives in a spawned worker process between load and unload; the
ModelRunner's lifecycle, leases and errors are those of the in-process mode."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from meshpipe.errors import Unavailable
from meshpipe.runtime.callctx import request_id_var
from meshpipe.runtime.metrics import StageMetrics
from meshpipe.runtime.model import ModelRunner, ModelState
from meshpipe.runtime.settings import StageSettings
from meshpipe.runtime.worker import WorkerBackend
from tests.unit.runtime.fakes import build_pid_fake

pytestmark = pytest.mark.timeout(120)


class ContextLease:
    """Records acquire / release / release_context calls."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def acquire(self, nbytes: int) -> None:
        self.events.append("acquire")

    async def release(self) -> None:
        self.events.append("release")

    async def release_context(self) -> None:
        self.events.append("release+context")

    async def report_peak(self, nbytes: int) -> None:
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def wait_gone(pid: int, seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.fixture
async def worker_runner() -> AsyncIterator[tuple[ModelRunner[WorkerBackend], ContextLease]]:
    settings = StageSettings(park_after=0, unload_after=0, max_concurrency=2)
    backend = WorkerBackend(build_pid_fake, settings, "fake")
    lease = ContextLease()
    runner = ModelRunner(
        "fake", backend, settings, StageMetrics("fake", CollectorRegistry()), lease
    )
    yield runner, lease
    await runner.close()


async def test_model_runs_in_a_worker_that_exits_when_cold(
    worker_runner: tuple[ModelRunner[WorkerBackend], ContextLease],
) -> None:
    runner, lease = worker_runner
    backend = runner.backend
    assert backend.process_id() is None and backend.memory().reserved == 0
    assert backend.info.backend == "fake", "info comes from the shadow while cold"
    (pid, _), (doubled, _) = await asyncio.gather(
        runner.run("Pid", backend.pid), runner.run("Infer", backend.infer, 21)
    )
    assert doubled == 42
    assert pid != os.getpid() and pid == backend.process_id()
    assert runner.counters.cold_loads == 1, "one load for concurrent first requests"
    assert backend.memory().reserved == 20, "memory() is the worker's"
    await runner.unload(ModelState.PARKED)
    assert alive(pid), "PARKED keeps the worker (its context holds the pinned weights)"
    assert (await runner.run("Pid", backend.pid))[0] == pid
    assert runner.counters.wakes == 1
    await runner.unload(ModelState.COLD)
    assert await wait_gone(pid), "the worker must exit when the model goes COLD"
    assert backend.process_id() is None and backend.memory().reserved == 0
    assert lease.events == ["acquire", "release", "acquire", "release+context"]
    assert runner.lease_usage().device_bytes == 0


async def test_parked_to_cold_gives_the_context_back_without_a_lease(
    worker_runner: tuple[ModelRunner[WorkerBackend], ContextLease],
) -> None:
    runner, lease = worker_runner
    await runner.run("Infer", runner.backend.infer, 1)
    await runner.unload(ModelState.PARKED)
    await runner.unload(ModelState.COLD)
    assert lease.events == ["acquire", "release", "release+context"]


async def test_errors_of_the_model_pass_through_and_keep_the_worker(
    worker_runner: tuple[ModelRunner[WorkerBackend], ContextLease],
) -> None:
    runner, _ = worker_runner
    pid, _ = await runner.run("Pid", runner.backend.pid)
    with pytest.raises(ValueError, match="bad request"):
        await runner.run("Fail", runner.backend.fail)
    assert runner.state is ModelState.RESIDENT and runner.backend.process_id() == pid


def lost_total(runner: ModelRunner[WorkerBackend]) -> float | None:
    registry = runner.metrics.registry
    return registry.get_sample_value("meshpipe_stage_model_lost_total", {"stage": "fake"})


async def test_a_crashed_worker_fails_its_request_cleanly_and_restarts_on_the_next(
    worker_runner: tuple[ModelRunner[WorkerBackend], ContextLease],
) -> None:
    runner, lease = worker_runner
    first, _ = await runner.run("Pid", runner.backend.pid)
    assert lost_total(runner) == 0
    with pytest.raises(Unavailable, match=r"fake model worker \(pid \d+\) exited \(exit code 3\)"):
        await runner.run("Crash", runner.backend.crash)
    assert runner.state is ModelState.COLD and runner.counters.lost == 1
    assert lost_total(runner) == 1
    assert lease.events == ["acquire", "release+context"], "lease and context given back"
    second, _ = await runner.run("Pid", runner.backend.pid)
    assert second != first and runner.counters.cold_loads == 2


async def test_a_worker_killed_while_idle_is_replaced_by_the_next_request(
    worker_runner: tuple[ModelRunner[WorkerBackend], ContextLease],
) -> None:
    runner, _ = worker_runner
    first, _ = await runner.run("Pid", runner.backend.pid)
    os.kill(first, 9)
    assert await wait_gone(first)
    assert lost_total(runner) == 0, "counted when the loss is noticed"
    second, _ = await runner.run("Pid", runner.backend.pid)
    assert second != first and runner.counters.lost == 1
    assert lost_total(runner) == 1


async def test_the_worker_s_log_lines_carry_the_request_id(
    worker_runner: tuple[ModelRunner[WorkerBackend], ContextLease],
    capfd: pytest.CaptureFixture[str],
) -> None:
    runner, _ = worker_runner
    token = request_id_var.set("rid-123")
    try:
        await runner.run("Say", runner.backend.say, "hello")
    finally:
        request_id_var.reset(token)
    pid = runner.backend.process_id()
    assert pid is not None and pid != os.getpid()
    await runner.run("Say", runner.backend.say, "goodbye")  # outside any request
    # the worker inherited the captured stderr; its handler flushed before it replied
    lines = capfd.readouterr().err.splitlines()
    (hello,) = [line for line in lines if "fake backend says hello" in line]
    assert f"[{pid}] [rid-123]:" in hello, hello
    (goodbye,) = [line for line in lines if "fake backend says goodbye" in line]
    assert f"[{pid}] [-]:" in goodbye, "the id is reset after its call"


async def test_reclaim_with_context_takes_a_worker_model_cold() -> None:
    settings = StageSettings(park_after=0, unload_after=0)
    backend = WorkerBackend(build_pid_fake, settings, "fake")
    lease = ContextLease()
    runner = ModelRunner(
        "fake", backend, settings, StageMetrics("fake", CollectorRegistry()), lease
    )
    await runner.start()
    try:
        pid, _ = await runner.run("Pid", backend.pid)
        runner.on_reclaim_context(0.0, 5.0)
        assert await wait_gone(pid)
        for _ in range(100):
            if runner.state is ModelState.COLD:
                break
            await asyncio.sleep(0.05)
        assert runner.state is ModelState.COLD
        assert lease.events[-1] == "release+context"
    finally:
        await runner.close()
