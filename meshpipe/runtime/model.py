"""ModelRunner: the one lifecycle every stage shares (docs/design.md §Stage lifecycle).

COLD -> LOADING -> RESIDENT -> (idle park_after) PARKED -> (idle unload_after) COLD.
Lazy load on first request, one load for N concurrent first requests, warm-up after every
(re)load, idle timers that need no orchestrator, bounded queue, leases around device memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from meshpipe.errors import FailedPrecondition, ResourceExhausted, to_status
from meshpipe.runtime.backend import Backend
from meshpipe.runtime.gpu import nvml_process_bytes
from meshpipe.runtime.lease import ContextReleasingLease, LeaseHook, LeaseUsage, NoLease
from meshpipe.runtime.metrics import StageMetrics
from meshpipe.runtime.settings import StageSettings
from meshpipe.runtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)
T = TypeVar("T")
B = TypeVar("B", bound=Backend)


class ModelState(enum.Enum):
    COLD = "cold"
    LOADING = "loading"
    RESIDENT = "resident"
    PARKED = "parked"
    UNLOADING = "unloading"


@dataclass(frozen=True)
class RunReport:
    """What the runtime measured around one inference call."""

    load_wait_seconds: float
    inference_seconds: float
    peak_device_bytes: int


@dataclass
class Counters:
    cold_loads: int = 0
    wakes: int = 0
    parks: int = 0
    unloads: int = 0
    requests: int = 0
    lost: int = 0  # models lost without an unload (a worker-mode worker died)


class ModelRunner(Generic[B]):
    """Owns a backend's lifecycle and runs its blocking calls off the event loop."""

    def __init__(
        self,
        stage: str,
        backend: B,
        settings: StageSettings,
        metrics: StageMetrics | None = None,
        lease: LeaseHook | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stage = stage
        self.backend = backend
        self.settings = settings
        self.metrics = metrics or StageMetrics(stage)
        self.lease: LeaseHook = lease or NoLease()
        self._clock = clock
        self._state = ModelState.COLD
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(settings.max_concurrency)
        self._executor = ThreadPoolExecutor(
            max_workers=settings.max_concurrency + 1, thread_name_prefix=f"{stage}-model"
        )
        self._in_flight = 0  # admitted requests (waiting for a slot, loading or running)
        self._active = 0  # requests running inference on the resident model
        self._idle = asyncio.Event()
        self._idle.set()
        self._drained = asyncio.Event()  # set whenever no request is running inference
        self._drained.set()
        self._last_used = clock()
        self._parked_at = 0.0
        self.counters = Counters()
        self._learned_footprint = 0
        self._resident_since = 0.0
        self._reclaim_until = 0.0  # the arbiter asked for the memory back, until then
        self._reclaim_min_residency = 0.0
        self._reclaim_context = False  # the arbiter asked for the context too (leave the device)
        self._lease_lost = False
        self._poke = asyncio.Event()  # wakes the idle monitor at once (reclaim, lease lost)
        self._monitor: asyncio.Task[None] | None = None
        self.metrics.set_state(self._state.value)
        self.metrics.footprint.labels(stage).set(self.footprint_bytes)

    # ----------------------------------------------------------------- properties
    @property
    def state(self) -> ModelState:
        return self._state

    @property
    def in_flight(self) -> int:
        return self._active

    @property
    def queued(self) -> int:
        return self._in_flight - self._active

    @property
    def idle_seconds(self) -> float:
        return 0.0 if self._in_flight else max(0.0, self._clock() - self._last_used)

    @property
    def footprint_bytes(self) -> int:
        """Learned peak when known, else the configured estimate, else the backend's own."""
        if self._learned_footprint:
            return self._learned_footprint
        return self.settings.footprint_bytes or self.backend.footprint_bytes

    # ----------------------------------------------------------------- requests
    async def run(self, method: str, fn: Callable[..., T], *args: Any) -> tuple[T, RunReport]:
        """Run `fn(*args)` on the resident model, loading or waking it first if needed."""
        limit = self.settings.max_concurrency + self.settings.max_queue
        if self._in_flight >= limit:
            self.metrics.observe_request(method, "RESOURCE_EXHAUSTED", 0.0)
            raise ResourceExhausted(
                f"{self.stage} queue is full ({self._in_flight} requests admitted, limit {limit})"
            )
        start = self._clock()
        self._enter()
        code = "OK"
        try:
            async with self._slots:
                wait = await self._ensure_resident_and_activate()
                try:
                    await self._call(self.backend.reset_peak_memory)
                    t0 = self._clock()
                    result = await self._call(self.backend.serving_call(fn), *args)
                    inference = self._clock() - t0
                finally:
                    self._active -= 1
                    if not self._active:
                        self._drained.set()
            peak = await self._learn_peak()
            return result, RunReport(wait, inference, peak)
        except BaseException as exc:
            code = (
                "CANCELLED" if isinstance(exc, asyncio.CancelledError) else to_status(exc)[0].name
            )
            if self.backend.lost() is not None:
                await self._forget_lost_model()
            raise
        finally:
            self._leave()
            self.counters.requests += 1
            self.metrics.observe_request(method, code, self._clock() - start)

    def _enter(self) -> None:
        self._in_flight += 1
        self._idle.clear()
        self._publish_queue()

    def _leave(self) -> None:
        self._in_flight -= 1
        self._last_used = self._clock()
        if self._in_flight == 0:
            self._idle.set()
            if self._reclaim_until:
                self._poke.set()
        self._publish_queue()

    def _publish_queue(self) -> None:
        self.metrics.in_flight.labels(self.stage).set(self._active)
        self.metrics.queued.labels(self.stage).set(self._in_flight - self._active)

    async def _ensure_resident_and_activate(self) -> float:
        t0 = self._clock()
        async with self._lock:
            lost = self.backend.lost() is not None
            if lost and self._state in (ModelState.RESIDENT, ModelState.PARKED):
                await self._drop_lost_model()
            if self._state is not ModelState.RESIDENT:
                await self._bring_up()
            self._active += 1  # under the lock: no transition can start before this request ends
        self._publish_queue()
        return self._clock() - t0

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()  # the request id reaches the worker's log lines
        return await loop.run_in_executor(self._executor, context.run, fn, *args)

    async def _learn_peak(self) -> int:
        mem = self.backend.memory()
        peak = mem.peak_reserved
        self.metrics.peak_device.labels(self.stage).set(peak)
        if peak:
            self._learned_footprint = max(self._learned_footprint, peak)
            self.metrics.footprint.labels(self.stage).set(self.footprint_bytes)
            await self.lease.report_peak(peak)
        self._publish_memory(mem.allocated, mem.reserved)
        return peak

    # ----------------------------------------------------------------- transitions
    async def load(self) -> float:
        """Bring the model to RESIDENT now; returns the seconds it took (0 if resident)."""
        async with self._lock:
            if self._state is ModelState.RESIDENT:
                return 0.0
            return await self._bring_up()

    async def _bring_up(self) -> float:
        source = "parked" if self._state is ModelState.PARKED else "cold"
        self._set_state(ModelState.LOADING)
        t0 = self._clock()
        self._lease_lost = False
        try:
            await self.lease.acquire(self.footprint_bytes)
        except BaseException:  # refused or cancelled: nothing went onto the device
            self._set_state(ModelState.PARKED if source == "parked" else ModelState.COLD)
            raise
        try:
            if source == "parked":
                await self._call(self.backend.wake)
            else:
                await self._call(self.backend.load)
            if self.settings.warmup:
                await self._call(self.backend.warmup)
        except BaseException:
            log.exception("%s: %s failed", self.stage, "wake" if source == "parked" else "load")
            await self._drop_after_failure()
            raise
        seconds = self._clock() - t0
        if source == "parked":
            self.counters.wakes += 1
        else:
            self.counters.cold_loads += 1
        self.metrics.observe_transition("load", source, seconds)
        self._set_state(ModelState.RESIDENT)
        self._last_used = self._resident_since = self._clock()
        log.info("%s: resident after %s load in %.3fs", self.stage, source, seconds)
        return seconds

    async def _drop_after_failure(self) -> None:
        try:
            await self._call(self.backend.unload)
        except Exception:
            log.exception("%s: unload after a failed load also failed", self.stage)
        await self._release(context=self.backend.leaves_device_when_cold)
        self._set_state(ModelState.COLD)

    async def _release(self, context: bool = False) -> None:
        """Give the lease back; with `context`, the CUDA context too (the worker exited)."""
        if context and isinstance(self.lease, ContextReleasingLease):
            await self.lease.release_context()
        else:
            await self.lease.release()

    async def _forget_lost_model(self) -> None:
        """A request failed because the model is gone (its worker died): count it COLD."""
        async with self._lock:
            if self._state in (ModelState.RESIDENT, ModelState.PARKED):
                await self._drop_lost_model()

    async def _drop_lost_model(self) -> None:
        """Under the lock: the worker died; clean up, give lease and context back, COLD.
        The next request starts a new worker."""
        log.error("%s: model lost: %s; the next request reloads it", self.stage,
                  self.backend.lost())  # fmt: skip
        self.counters.lost += 1
        self.metrics.model_lost.labels(self.stage).inc()
        self._reclaim_until = 0.0
        await self._drop_after_failure()

    async def unload(
        self, target: ModelState = ModelState.COLD, wait_for_idle: bool = True
    ) -> float:
        """Move to PARKED or COLD; waits for running requests (or refuses when not waiting)."""
        if target not in (ModelState.PARKED, ModelState.COLD):
            raise FailedPrecondition(f"cannot unload to {target.value}")
        async with self._lock:
            if self._active and not wait_for_idle:
                raise FailedPrecondition(f"{self.stage} is serving {self._active} request(s)")
            while self._active:
                self._drained.clear()
                await self._drained.wait()
            return await self._take_down(target)

    async def _take_down(self, target: ModelState) -> float:
        source = self._state
        if source is target or source is ModelState.COLD:
            return 0.0
        if target is ModelState.PARKED and source is not ModelState.RESIDENT:
            return 0.0
        self._set_state(ModelState.UNLOADING)
        t0 = self._clock()
        try:
            if target is ModelState.PARKED:
                await self._call(self.backend.park)
            else:
                await self._call(self.backend.unload)
        except BaseException:
            log.exception("%s: %s failed; dropping the model", self.stage, target.value)
            await self._call(self.backend.unload)
            target = ModelState.COLD
        finally:
            leaves = target is ModelState.COLD and self.backend.leaves_device_when_cold
            if source is ModelState.RESIDENT or leaves:
                self._reclaim_until = 0.0
                self._reclaim_context = False
                await self._release(context=leaves)
        seconds = self._clock() - t0
        kind = "park" if target is ModelState.PARKED else "unload"
        self.metrics.observe_transition(kind, source.value, seconds)
        if target is ModelState.PARKED:
            self.counters.parks += 1
            self._parked_at = self._clock()
        else:
            self.counters.unloads += 1
        self._set_state(target)
        log.info("%s: %s from %s in %.3fs", self.stage, target.value, source.value, seconds)
        return seconds

    def _set_state(self, state: ModelState) -> None:
        self._state = state
        self.metrics.set_state(state.value)
        if state in (ModelState.RESIDENT, ModelState.PARKED, ModelState.COLD):
            mem = self.backend.memory()
            self._publish_memory(mem.allocated, mem.reserved)

    def _publish_memory(self, allocated: int, reserved: int) -> None:
        self.metrics.set_memory(allocated, reserved, self._nvml_bytes())

    def _nvml_bytes(self) -> int:
        """GPU memory NVML attributes to the process that holds the model (0 when a
        worker-mode model has no worker)."""
        pid = self.backend.process_id()
        if pid is None and self.backend.leaves_device_when_cold:
            return 0
        return nvml_process_bytes(pid)

    # ----------------------------------------------------------------- idle timers
    async def start(self) -> None:
        """Start the idle monitor (parks and unloads on its own, orchestrator or not)."""
        if self._monitor is None:
            self._monitor = asyncio.create_task(self._watch_idle(), name=f"{self.stage}-idle")

    def _tick(self) -> float:
        timers = [t for t in (self.settings.park_after, self.settings.unload_after) if t > 0]
        return min(1.0, max(0.02, min(timers) / 10)) if timers else 1.0

    async def _watch_idle(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick()):
                    await self._poke.wait()
            self._poke.clear()
            try:
                if self._lease_lost:
                    await self._stop_using_device()
                await self._idle_step()
            except Exception:
                log.exception("%s: idle transition failed", self.stage)

    async def _idle_step(self) -> None:
        if self._in_flight or self._lock.locked():
            return
        now = self._clock()
        park_after, unload_after = self.settings.park_after, self.settings.unload_after
        async with self._lock:
            if self._in_flight:
                return
            idle = now - self._last_used
            if self._reclaim_due(now) and self._can_answer_reclaim():
                await self._answer_reclaim()
            elif self._state is ModelState.RESIDENT:
                if park_after > 0 and idle >= park_after:
                    await self._take_down(ModelState.PARKED)
                elif park_after == 0 and unload_after > 0 and idle >= unload_after:
                    await self._take_down(ModelState.COLD)
            elif (
                self._state is ModelState.PARKED
                and unload_after > 0
                and now - self._parked_at >= unload_after
            ):
                await self._take_down(ModelState.COLD)

    async def _answer_reclaim(self) -> None:
        """Park for the arbiter; go COLD instead when it asked for the context too and this
        model can leave the device (worker mode)."""
        leave = self._reclaim_context and self.backend.leaves_device_when_cold
        if leave:
            log.info("%s: leaving the device for the arbiter (reclaim)", self.stage)
            await self._take_down(ModelState.COLD)
        elif self._state is ModelState.RESIDENT:
            log.info("%s: parking for the arbiter (reclaim)", self.stage)
            await self._take_down(ModelState.PARKED)

    def _can_answer_reclaim(self) -> bool:
        leave = self._reclaim_context and self.backend.leaves_device_when_cold
        return self._state is ModelState.RESIDENT or (leave and self._state is ModelState.PARKED)

    def _reclaim_due(self, now: float) -> bool:
        return now < self._reclaim_until and (
            now - self._resident_since >= self._reclaim_min_residency
        )

    async def _stop_using_device(self) -> None:
        """The lease could not be renewed: park once running requests end (new ones wait)."""
        self._lease_lost = False
        if self._state in (ModelState.RESIDENT, ModelState.LOADING):
            log.warning("%s: GPU lease lost; parking the model", self.stage)
            await self.unload(ModelState.PARKED, wait_for_idle=True)

    # ----------------------------------------------------------------- lease listener
    def lease_usage(self) -> LeaseUsage:
        """Busy / idle / device bytes, sent to the arbiter with every heartbeat."""
        device = self._nvml_bytes() or self.backend.memory().reserved
        return LeaseUsage(self._in_flight > 0, self.idle_seconds, device)

    def on_reclaim(self, min_residency_seconds: float, timeout_seconds: float) -> None:
        """The arbiter wants the memory: park when idle and resident long enough."""
        self._ask_reclaim(min_residency_seconds, timeout_seconds, context=False)

    def on_reclaim_context(self, min_residency_seconds: float, timeout_seconds: float) -> None:
        """The arbiter wants the context too: go COLD when idle and resident long enough
        (a worker-mode model; an in-process one can only park)."""
        self._ask_reclaim(min_residency_seconds, timeout_seconds, context=True)

    def _ask_reclaim(
        self, min_residency_seconds: float, timeout_seconds: float, context: bool
    ) -> None:
        self._reclaim_context = context
        self._reclaim_min_residency = min_residency_seconds
        self._reclaim_until = self._clock() + timeout_seconds
        self._poke.set()

    def on_lease_lost(self) -> None:
        """The lease expired or the arbiter is unreachable: stop using the device."""
        self._lease_lost = True
        self._poke.set()

    async def close(self) -> None:
        """Stop the idle monitor and drop the model (graceful shutdown)."""
        await cancel_and_wait([self._monitor])
        self._monitor = None
        try:
            await self.unload(ModelState.COLD, wait_for_idle=True)
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)
