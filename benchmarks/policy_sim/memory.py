"""Device memory for the pipelined policies: (b) everything resident, (c) meshpipe's leases.

`LeasedMemory` drives the real LeaseCore on the simulator's virtual clock: a stage that is
not resident asks for a lease; the core's Reclaim events are carried out (park, or leave
the device when the core asks for the context too) and cost GPU time; the grant is then
followed by a wake (parked) or a cold load (never loaded, or parked too long).
"""

from __future__ import annotations

from typing import Literal, Protocol

from benchmarks.policy_sim.physics import Physics
from orchestrator.arbiter.core import LeaseCore
from orchestrator.arbiter.ledger import (
    ArbiterConfig,
    Denied,
    Event,
    Granted,
    Reclaim,
    lease_need,
)

Status = Literal["cold", "resident", "parked"]
UNLOAD_AFTER_SECONDS = 600.0  # StageSettings.unload_after default
NEVER = 1e12


class Infeasible(Exception):
    """The workload cannot run under this budget (e.g. a stage larger than the budget)."""


class Memory(Protocol):
    cold_loads: int
    wakes: int
    parks: int

    def is_resident(self, stage: str) -> bool: ...
    def lease_bytes(self, stage: str) -> int: ...
    def free_bytes(self) -> int: ...
    def bring_up(self, stage: str, now: float) -> float: ...
    def used(self, stage: str, now: float) -> None: ...
    def peak_bytes(self) -> int: ...


class AllResident:
    """(b): each stage is loaded once (when first needed) and stays."""

    def __init__(self, physics: Physics) -> None:
        self.physics = physics
        self.resident: set[str] = set()
        self.cold_loads = self.wakes = self.parks = 0

    def is_resident(self, stage: str) -> bool:
        return stage in self.resident

    def lease_bytes(self, stage: str) -> int:
        return self.physics.lease_bytes(stage)

    def free_bytes(self) -> int:
        return 1 << 62

    def bring_up(self, stage: str, now: float) -> float:
        if stage not in self.resident:
            self.resident.add(stage)
            self.cold_loads += 1
            now += self.physics.cold_load_seconds
        return now

    def used(self, stage: str, now: float) -> None:
        return None

    def peak_bytes(self) -> int:
        return sum(self.physics.lease_bytes(s) for s in self.resident)


class LeasedMemory:
    """(c): leases from LeaseCore; LRU reclaim parks idle stages; wakes from pinned RAM."""

    def __init__(self, physics: Physics, budget: int, min_residency: float = 10.0) -> None:
        self.physics = physics
        config = ArbiterConfig(
            budget_bytes=budget,
            context_bytes=physics.context_bytes,
            ttl_seconds=NEVER,  # no crashes are simulated
            heartbeat_seconds=1.0,
            min_residency_seconds=min_residency,
            max_wait_seconds=NEVER,
            aging_seconds=30.0,
            reclaim_timeout_seconds=NEVER,
            estimates={s.name: s.peak_bytes for s in physics.stages},
        )
        self.core = LeaseCore(config)
        self.status: dict[str, Status] = {s.name: "cold" for s in physics.stages}
        self.parked_at: dict[str, float] = {}
        self.last_used: dict[str, float] = {s.name: 0.0 for s in physics.stages}
        self.cold_loads = self.wakes = self.parks = 0
        for s in physics.stages:  # stage processes whose model worker can exit
            self.core.open(s.name, s.name, 0.0, can_release_context=True)

    def is_resident(self, stage: str) -> bool:
        return self.status[stage] == "resident"

    def lease_bytes(self, stage: str) -> int:
        snap = self.core.snapshot(0.0)
        charged = any(h.holder_id == stage and h.context_bytes for h in snap.holders)
        model = self.core.lease_size(stage, self.physics.stage(stage).peak_bytes)
        return lease_need(model, self.physics.context_bytes, charged)

    def free_bytes(self) -> int:
        return self.core.free

    def peak_bytes(self) -> int:
        return self.core.snapshot(0.0).high_water_bytes

    def used(self, stage: str, now: float) -> None:
        self.last_used[stage] = now
        self.core.heartbeat(stage, now, busy=False, idle_seconds=0.0)

    def bring_up(self, stage: str, now: float) -> float:
        """Lease (evicting as the core asks), then wake or load; returns the new time."""
        if self.is_resident(stage):
            return now
        events = self._heartbeats(now)
        events += self.core.acquire(stage, self.physics.stage(stage).peak_bytes, 0, 0, now)
        while not self._granted(stage, events):
            reclaims = [e for e in events if isinstance(e, Reclaim)]
            if reclaims:
                now, events = self._evict(reclaims, now)
                continue
            deadline = self.core.next_deadline(now)
            if deadline is None:
                raise Infeasible(f"{stage}'s lease can never be granted")
            now = deadline  # the GPU idles until a holder may be reclaimed
            events = self._heartbeats(now) + self.core.advance(now)
        return self._load(stage, now)

    def _granted(self, stage: str, events: list[Event]) -> bool:
        for e in events:
            if isinstance(e, Denied) and e.holder_id == stage:
                raise Infeasible(e.message)
        return any(isinstance(e, Granted) and e.holder_id == stage for e in events)

    def _evict(self, reclaims: list[Reclaim], now: float) -> tuple[float, list[Event]]:
        events: list[Event] = []
        for r in reclaims:
            victim = r.holder_id
            if r.release_context:  # the worker process exits: weights dropped, nothing to copy
                self.status[victim] = "cold"
            else:
                now += self.physics.park_seconds(victim)
                self.status[victim] = "parked"
                self.parked_at[victim] = now
            self.parks += 1
            events += self.core.release(victim, now, context_released=r.release_context)
        return now, events

    def _load(self, stage: str, now: float) -> float:
        parked_since = self.parked_at.get(stage)
        warm = self.status[stage] == "parked" and parked_since is not None
        if warm and now - (parked_since or 0.0) < UNLOAD_AFTER_SECONDS:
            now += self.physics.wake_seconds(stage)
            self.wakes += 1
        else:
            now += self.physics.cold_load_seconds
            self.cold_loads += 1
        self.status[stage] = "resident"
        self.core.report_peak(stage, self.physics.stage(stage).peak_bytes, now)
        self.used(stage, now)
        return now

    def _heartbeats(self, now: float) -> list[Event]:
        """Every stage is idle between batches (one GPU): tell the core how long."""
        events: list[Event] = []
        for stage, last in self.last_used.items():
            events += self.core.heartbeat(stage, now, busy=False, idle_seconds=now - last)
        return events
