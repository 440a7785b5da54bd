"""The asyncio driver around LeaseCore: sessions, the deadline timer and the truth check.

The orchestrator embeds an `Arbiter` per GPU (and serves `ArbiterServicer` for the stage
processes); `meshpipe arbiter` runs the same object in a process of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from meshpipe.errors import NotFound
from meshpipe.runtime.tasks import cancel_and_wait
from orchestrator.arbiter.core import LeaseCore
from orchestrator.arbiter.ledger import GIB, ArbiterConfig, Event, LedgerSnapshot, Released
from orchestrator.arbiter.metrics import ArbiterMetrics
from orchestrator.arbiter.settings import ArbiterSettings
from orchestrator.arbiter.truth import DeviceProbe, DeviceReading, open_probe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeartbeatAck:
    """Answer to a heartbeat: the session is alive (and whether it holds a lease)."""

    sequence: int
    lease_held: bool


Outgoing = Event | HeartbeatAck


class LeaseSession:
    """One holder's session. Calls go in; every answer and request of the arbiter
    (Queued, Granted, Denied, Reclaim, Released, HeartbeatAck) comes out of `outbox`."""

    def __init__(self, arbiter: Arbiter, holder_id: str, stage: str) -> None:
        self._arbiter = arbiter
        self.holder_id = holder_id
        self.stage = stage
        self.outbox: asyncio.Queue[Outgoing] = asyncio.Queue()
        self.closed = False

    def acquire(self, model_bytes: int, priority: int = 0, max_wait: float = 0.0) -> None:
        self._call(self._arbiter.core.acquire, model_bytes, priority, max_wait)

    def release(self, context_released: bool = False) -> None:
        self._call(self._arbiter.core.release, context_released=context_released)

    def heartbeat(
        self, sequence: int, busy: bool = False, idle_seconds: float = 0.0, device_bytes: int = 0
    ) -> None:
        self._call(
            self._arbiter.core.heartbeat,
            busy=busy,
            idle_seconds=idle_seconds,
            device_bytes=device_bytes,
        )
        held = self._arbiter.core.held_bytes(self.holder_id) > 0
        self.outbox.put_nowait(HeartbeatAck(sequence, held))

    def report_peak(self, model_peak_bytes: int) -> None:
        self._call(self._arbiter.core.report_peak, model_peak_bytes)

    def close(self) -> None:
        """End the session: whatever it held goes back to the pool (idempotent)."""
        if not self.closed:
            self._arbiter.apply(self._arbiter.core.close, self.holder_id)

    def _call(self, method: Callable[..., list[Event]], *args: Any, **kwargs: Any) -> None:
        if self.closed:
            raise NotFound(f"holder {self.holder_id!r}: the session has ended")
        self._arbiter.apply(lambda now: method(self.holder_id, *args, now=now, **kwargs))


class Arbiter:
    """One device's arbiter: a LeaseCore on the event loop's clock, with its timers."""

    def __init__(
        self,
        config: ArbiterConfig,
        metrics: ArbiterMetrics | None = None,
        probe: DeviceProbe | None = None,
        *,
        truth_interval: float = 2.0,
        drift_threshold: int = GIB,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.core = LeaseCore(config)
        self.metrics = metrics or ArbiterMetrics()
        self.probe = probe
        self.truth_interval = truth_interval
        self.drift_threshold = drift_threshold
        self._clock = clock
        self._sessions: dict[str, LeaseSession] = {}
        self._poke = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.metrics.publish(self.snapshot())

    @classmethod
    def from_settings(
        cls, settings: ArbiterSettings, metrics: ArbiterMetrics | None = None
    ) -> Arbiter:
        """Open the device probe, size the budget from it and build the arbiter."""
        probe = open_probe(
            settings.device_kind, settings.device_index, int(settings.sim_capacity_bytes)
        )
        config = settings.config(probe.total_bytes())
        log.info(
            "arbiter for device %d (%s): budget %.2f GiB, context %.0f MiB, TTL %.1fs",
            config.device_index,
            probe.source,
            config.budget_bytes / GIB,
            config.context_bytes / (1 << 20),
            config.ttl_seconds,
        )
        return cls(
            config,
            metrics,
            probe,
            truth_interval=settings.truth_interval_seconds,
            drift_threshold=int(settings.drift_threshold_bytes),
        )

    @classmethod
    def per_device(
        cls, settings: ArbiterSettings, devices: Iterable[int], metrics: ArbiterMetrics
    ) -> dict[int, Arbiter]:
        """One arbiter (ledger) per GPU index, with the same settings and metrics (labelled
        by device)."""
        return {d: cls.from_settings(settings.for_device(d), metrics) for d in sorted(set(devices))}

    # ------------------------------------------------------------------ API
    async def start(self) -> None:
        """Start the deadline timer and the truth check."""
        if not self._tasks:
            self._tasks.append(asyncio.create_task(self._run_timer(), name="arbiter-timer"))
            if self.probe is not None:
                self._tasks.append(asyncio.create_task(self._run_truth(), name="arbiter-truth"))

    async def close(self) -> None:
        """Stop the timers and end every session."""
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        for session in list(self._sessions.values()):
            session.close()

    def connect(
        self, holder_id: str, stage: str, pid: int = 0, can_release_context: bool = False
    ) -> LeaseSession:
        """Open a holder's session (FailedPrecondition if the id already has one)."""
        events = self.core.open(holder_id, stage, self._clock(), pid, can_release_context)
        self._dispatch(events)  # first: may end an expired session of the same id
        session = LeaseSession(self, holder_id, stage)
        self._sessions[holder_id] = session
        self._poke.set()
        return session

    def snapshot(self) -> LedgerSnapshot:
        return self.core.snapshot(self._clock())

    def set_budget(self, budget_bytes: int) -> None:
        self.apply(lambda now: self.core.set_budget(budget_bytes, now))

    def apply(self, op: Callable[..., list[Event]], *args: Any) -> None:
        """Run a core operation at the current time and deliver its events."""
        now = self._clock()
        events = op(*args, now) if args else op(now)
        self._dispatch(events)
        self._poke.set()  # deadlines may have moved

    async def check_truth(self) -> DeviceReading | None:
        """Read the device, export it next to the ledger, log and count drift."""
        if self.probe is None:
            return None
        snap = self.snapshot()
        reading = await asyncio.to_thread(self.probe.read, snap)
        drift = reading.used - snap.granted_bytes
        self.metrics.publish_truth(
            snap.device_index,
            reading.source,
            reading.total,
            reading.used,
            drift,
            self.drift_threshold,
        )
        if abs(drift) > self.drift_threshold:
            log.warning(
                "device %d: %s reports %.2f GiB used, the ledger granted %.2f GiB (drift %+.2f GiB)",
                snap.device_index,
                reading.source,
                reading.used / GIB,
                snap.granted_bytes / GIB,
                drift / GIB,
            )
        return reading

    # ------------------------------------------------------------------ internals
    def _dispatch(self, events: list[Event]) -> None:
        self.metrics.observe(self.config.device_index, events)
        for event in events:
            session = self._sessions.get(event.holder_id)
            if session is None:
                continue
            session.outbox.put_nowait(event)
            if isinstance(event, Released) and event.reason in ("expired", "closed"):
                session.closed = True
                del self._sessions[event.holder_id]
                if event.reason == "expired":
                    log.warning("holder %s (%s) expired: lease freed", event.holder_id, event.stage)
        self.metrics.publish(self.snapshot())

    async def _run_timer(self) -> None:
        """Sleep until the core's next deadline (or until an operation moved it)."""
        while True:
            now = self._clock()
            deadline = self.core.next_deadline(now)
            timeout = None if deadline is None else max(0.0, deadline - now)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):  # (wait_for may swallow a cancel on 3.11)
                    await self._poke.wait()
            self._poke.clear()
            self._dispatch(self.core.advance(self._clock()))

    async def _run_truth(self) -> None:
        while True:
            await asyncio.sleep(self.truth_interval)
            try:
                await self.check_truth()
            except Exception:
                log.exception("device truth check failed")
