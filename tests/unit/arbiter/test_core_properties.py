"""Property-based tests of LeaseCore: random acquire / release (park) / crash / heartbeat /
peak / budget sequences on a virtual clock, checked against an independent book-keeping of
what the events said.

Invariants, after every step:
* granted <= budget (a shrunk budget may leave it above, but nothing is granted then);
* the ledger equals the sum of what Granted/Released events said;
* every request is granted or refused no later than its bound;
* a crashed (silent) holder's session and lease are gone once its TTL has passed;
* grants are FIFO within a priority, and an aged request is never overtaken (no starvation);
* reclaim requests only go to idle holders older than the minimum residency;
* no holder holds a lease while waiting for one (deadlock freedom).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from orchestrator.arbiter.core import LeaseCore
from orchestrator.arbiter.ledger import (
    GIB,
    ArbiterConfig,
    Denied,
    Event,
    Granted,
    Queued,
    Reclaim,
    Released,
)

HOLDERS = tuple(f"h{i}" for i in range(8))
STAGES = ("detector", "matting", "shape", "texture")
CONFIG = ArbiterConfig(
    budget_bytes=16 * GIB,
    context_bytes=GIB // 2,
    ttl_seconds=5.0,
    heartbeat_seconds=1.0,
    min_residency_seconds=1.0,
    max_wait_seconds=20.0,
    aging_seconds=3.0,
    reclaim_timeout_seconds=3.0,
)
sizes = st.integers(min_value=0, max_value=12 * 4).map(lambda q: q * GIB // 4)
mostly_idle = st.lists(st.sampled_from([False, False, True]), min_size=8, max_size=8)


@dataclass
class Request:
    enqueued_at: float
    deadline: float
    priority: int
    order: int


class LeaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.core = LeaseCore(CONFIG)
        self.now = 0.0
        self.open: dict[str, float] = {}  # holder -> last message time
        self.silent: set[str] = set()  # crashed without closing the stream
        self.busy: dict[str, bool] = {}
        self.granted_at: dict[str, float] = {}
        self.holding: dict[str, int] = {}  # holder -> model + context bytes per the events
        self.pending: dict[str, Request] = {}
        self.reclaimed: set[str] = set()
        self.orders = 0

    # ------------------------------------------------------------------ helpers
    def apply(self, events: list[Event]) -> None:
        before = self.core.granted
        for e in events:
            if isinstance(e, Granted):
                self.check_grant_order(e.holder_id)
                self.pending.pop(e.holder_id)
                self.holding[e.holder_id] = self.holding.get(e.holder_id, 0) + (
                    e.model_bytes + e.context_bytes
                )
                self.granted_at[e.holder_id] = self.now
            elif isinstance(e, Denied):
                self.pending.pop(e.holder_id, None)
            elif isinstance(e, Released):
                self.holding[e.holder_id] = self.holding.get(e.holder_id, 0) - (
                    e.model_bytes + e.context_bytes
                )
                self.reclaimed.discard(e.holder_id)
                if e.reason != "released":
                    self.forget(e.holder_id)
            elif isinstance(e, Reclaim):
                self.check_reclaim_target(e.holder_id)
                self.reclaimed.add(e.holder_id)
        if any(isinstance(e, Granted) for e in events):
            assert self.core.granted <= self.core.budget, "a grant overcommitted the budget"
        elif self.core.granted > self.core.budget:
            assert self.core.granted <= before, "granted grew beyond the budget"

    def forget(self, holder: str) -> None:
        self.open.pop(holder, None)
        self.pending.pop(holder, None)
        self.silent.discard(holder)
        self.reclaimed.discard(holder)
        assert self.holding.get(holder, 0) == 0, "a dropped session left bytes in the ledger"

    def aged(self, r: Request) -> bool:
        return self.now - r.enqueued_at >= CONFIG.aging_seconds

    def check_grant_order(self, holder: str) -> None:
        mine = self.pending[holder]
        for other, r in self.pending.items():
            if other == holder:
                continue
            assert not (r.priority == mine.priority and r.order < mine.order), (
                f"{holder} overtook {other} within priority {r.priority}"
            )
            if self.aged(r):
                assert self.aged(mine) and mine.order < r.order, f"aged {other} was overtaken"

    def check_reclaim_target(self, holder: str) -> None:
        assert holder in self.granted_at and self.holding.get(holder, 0) > 0
        assert not self.busy.get(holder, False), "reclaim sent to a busy holder"
        young = self.now - self.granted_at[holder] < CONFIG.min_residency_seconds
        assert not young, "reclaim sent to a holder younger than the minimum residency"

    def live(self) -> list[str]:
        return sorted(h for h in self.open if h not in self.silent)

    # ------------------------------------------------------------------ rules
    @initialize(stages=st.lists(st.sampled_from(STAGES), min_size=8, max_size=8))
    def open_all(self, stages: list[str]) -> None:
        for holder, stage in zip(HOLDERS, stages, strict=True):
            self.open_session(holder, stage)

    @rule(holder=st.sampled_from(HOLDERS), stage=st.sampled_from(STAGES))
    def open_session(self, holder: str, stage: str) -> None:
        if holder in self.open or self.core.has_session(holder):
            return
        self.apply(self.core.open(holder, stage, self.now))
        self.open[holder] = self.now
        self.busy[holder] = False

    @precondition(lambda self: bool(self.live()))
    @rule(
        data=st.data(),
        size=sizes,
        priority=st.integers(0, 1),
        wait=st.floats(0.5, 20.0),
    )
    def acquire(self, data: st.DataObject, size: int, priority: int, wait: float) -> None:
        self.ask(data.draw(st.sampled_from(self.live())), size, priority, wait)

    @precondition(lambda self: bool(self.live()))
    @rule(
        size=st.integers(1, 8).map(lambda g: g * GIB),
        priorities=st.lists(st.sampled_from([None, 0, 1]), min_size=8, max_size=8),
        wait=st.floats(2.0, 30.0),
    )
    def many_ask(self, size: int, priorities: list[int | None], wait: float) -> None:
        for holder, priority in zip(HOLDERS, priorities, strict=True):
            if holder in self.live() and priority is not None:
                self.ask(holder, size, priority, wait)

    def ask(self, holder: str, size: int, priority: int, wait: float) -> None:
        if holder in self.pending or self.core.held_bytes(holder):
            return
        self.orders += 1
        self.pending[holder] = Request(self.now, self.now + wait, priority, self.orders)
        self.open[holder] = self.now
        events = self.core.acquire(holder, size, priority, wait, self.now)
        self.apply(events)
        if events and isinstance(events[-1], Denied) and events[-1].holder_id == holder:
            assert events[-1].code == "FAILED_PRECONDITION"
        elif holder in self.pending:
            assert isinstance(events[-1], Queued)

    @precondition(lambda self: bool(self.live()))
    @rule(data=st.data(), context_released=st.booleans())
    def release(self, data: st.DataObject, context_released: bool) -> None:
        holder = data.draw(st.sampled_from(self.live()))
        self.open[holder] = self.now
        self.apply(self.core.release(holder, self.now, context_released))

    @precondition(lambda self: bool(self.reclaimed - self.silent))
    @rule(data=st.data())
    def comply_with_reclaim(self, data: st.DataObject) -> None:
        holder = data.draw(st.sampled_from(sorted(self.reclaimed - self.silent)))
        self.open[holder] = self.now
        self.apply(self.core.release(holder, self.now))

    @precondition(lambda self: bool(self.live()))
    @rule(data=st.data())
    def crash_with_disconnect(self, data: st.DataObject) -> None:
        holder = data.draw(st.sampled_from(self.live()))
        self.apply(self.core.close(holder, self.now))
        assert not self.core.has_session(holder)

    @precondition(lambda self: bool(self.live()))
    @rule(data=st.data())
    def crash_silently(self, data: st.DataObject) -> None:
        self.silent.add(data.draw(st.sampled_from(self.live())))

    @precondition(lambda self: bool(self.live()))
    @rule(data=st.data(), peak=sizes)
    def report_peak(self, data: st.DataObject, peak: int) -> None:
        holder = data.draw(st.sampled_from(self.live()))
        self.open[holder] = self.now
        self.apply(self.core.report_peak(holder, peak, self.now))

    @rule(budget=st.integers(4, 24).map(lambda g: g * GIB))
    def change_budget(self, budget: int) -> None:
        self.apply(self.core.set_budget(budget, self.now))

    @rule(dt=st.floats(0.0, 2.5), busy=mostly_idle)
    def time_passes(self, dt: float, busy: list[bool]) -> None:
        """The clock moves; the driver wakes at every deadline; live holders heartbeat."""
        target = self.now + dt
        for _ in range(1000):
            deadline = self.core.next_deadline(self.now)
            if deadline is None or deadline > target:
                break
            self.now = deadline
            self.apply(self.core.advance(self.now))
        else:
            raise AssertionError("advance() does not clear what next_deadline() says is due")
        self.now = target
        self.apply(self.core.advance(self.now))
        for holder, is_busy in zip(HOLDERS, busy, strict=True):
            if holder in self.live():
                self.busy[holder] = is_busy
                self.open[holder] = self.now
                self.apply(self.core.heartbeat(holder, self.now, is_busy, 0.0 if is_busy else dt))

    # ------------------------------------------------------------------ invariants
    @invariant()
    def ledger_matches_the_events(self) -> None:
        assert self.core.granted == sum(self.holding.values())

    @invariant()
    def requests_resolve_within_their_bound(self) -> None:
        for holder, r in self.pending.items():
            assert r.deadline > self.now, f"{holder}'s request outlived its bound"

    @invariant()
    def crashed_holders_are_gone_after_the_ttl(self) -> None:
        for holder in self.silent:
            if self.open[holder] + CONFIG.ttl_seconds <= self.now:
                assert not self.core.has_session(holder), f"{holder} outlived its TTL"

    @invariant()
    def nobody_waits_while_holding(self) -> None:
        snap = self.core.snapshot(self.now)
        waiting = {w.holder_id for w in snap.queue}
        assert not any(h.model_bytes and h.holder_id in waiting for h in snap.holders)
        assert waiting == set(self.pending)


LeaseMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLeaseCoreProperties = LeaseMachine.TestCase
