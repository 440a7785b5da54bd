"""The arbiter's decisions, as a pure state machine over a caller-supplied clock.

Every operation takes `now`, first applies whatever expired up to `now` (silent sessions,
overdue reclaims, overdue waiters), then serves the queue, and returns the events it caused.
No I/O, no asyncio: the driver (`arbiter.py`) calls `advance(next_deadline())` on a timer,
and tests drive it with a virtual clock.

Rules (docs/design.md §Leases):
* ledger = sum over open sessions of (model lease + CUDA context charge); a grant happens
  only when it fits, so granted <= budget whenever the budget does not shrink under it;
* a context is charged at a holder's first grant and stays charged until the session ends
  or the holder says its process left the device (a park keeps the context: ~757 MiB);
* the queue is served strictly in order, head first, no overtaking: requests that waited
  longer than `aging_seconds` come first (FIFO), then by priority, FIFO within a priority;
* when the head does not fit, idle holders older than the minimum residency are asked to
  give memory back, least recently used first, and only when that can make the head fit;
* a holder has at most one lease or one waiting request, never both: it cannot wait while
  holding, so no cycle of waits (deadlock) can form through the arbiter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from meshpipe.errors import FailedPrecondition, InvalidInput, NotFound
from orchestrator.arbiter.ledger import (
    ArbiterConfig,
    Denied,
    DenyCode,
    Event,
    Granted,
    HolderView,
    LedgerSnapshot,
    Overrun,
    Queued,
    Reclaim,
    ReclaimTimedOut,
    Released,
    ReleaseReason,
    WaiterView,
    lease_need,
    model_lease_bytes,
)


@dataclass(eq=False)
class _Holder:
    holder_id: str
    stage: str
    pid: int
    last_seen: float
    last_used: float
    model_bytes: int = 0
    context_bytes: int = 0
    requested_bytes: int = 0
    granted_at: float = 0.0
    busy: bool = False
    device_bytes: int = 0
    reclaim_deadline: float | None = None
    can_release_context: bool = False
    reclaim_context: bool = False

    def reclaimable(self, with_context: bool) -> int:
        return self.model_bytes + (self.context_bytes if with_context else 0)


@dataclass(eq=False)
class _Waiter:
    holder_id: str
    stage: str
    model_bytes: int
    requested_bytes: int
    priority: int
    enqueued_at: float
    deadline: float
    seq: int


class LeaseCore:
    """Budget, leases and queue of one device."""

    def __init__(self, config: ArbiterConfig) -> None:
        self.config = config
        self.budget = config.budget_bytes
        self._holders: dict[str, _Holder] = {}
        self._queue: list[_Waiter] = []
        self._learned: dict[str, int] = {}
        self._high_water = 0
        self._seq = itertools.count()

    # ------------------------------------------------------------------ reads
    @property
    def granted(self) -> int:
        """Bytes granted now: model leases plus charged contexts."""
        return sum(h.model_bytes + h.context_bytes for h in self._holders.values())

    @property
    def free(self) -> int:
        return self.budget - self.granted

    def lease_size(self, stage: str, requested: int) -> int:
        """Model bytes a lease for `stage` gets: learned peak, else max(asked, estimate)."""
        estimate = self.config.estimates.get(stage, 0)
        return model_lease_bytes(self._learned.get(stage, 0), estimate, requested)

    def has_session(self, holder_id: str) -> bool:
        return holder_id in self._holders

    def held_bytes(self, holder_id: str) -> int:
        """Model bytes the holder's lease grants now (0 without a lease or a session)."""
        h = self._holders.get(holder_id)
        return h.model_bytes if h else 0

    # ------------------------------------------------------------------ sessions
    def open(
        self,
        holder_id: str,
        stage: str,
        now: float,
        pid: int = 0,
        can_release_context: bool = False,
    ) -> list[Event]:
        """Start a holder's session (one per holder id); `can_release_context`: the holder
        can leave the device entirely (worker subprocess) when asked."""
        if not holder_id or not stage or len(holder_id) > 128 or len(stage) > 64:
            raise InvalidInput("holder id (1-128 chars) and stage (1-64 chars) are required")
        events = self._expire(now)
        if holder_id in self._holders:
            raise FailedPrecondition(
                f"holder {holder_id!r} already has a session on device {self.config.device_index}"
            )
        self._holders[holder_id] = _Holder(
            holder_id,
            stage,
            pid,
            last_seen=now,
            last_used=now,
            can_release_context=can_release_context,
        )
        return events + self._pump(now)

    def close(self, holder_id: str, now: float) -> list[Event]:
        """End a session (stream closed): everything it held or asked for goes away."""
        events = self._expire(now)
        if holder_id in self._holders:
            events.append(self._drop(holder_id, "closed"))
        return events + self._pump(now)

    def heartbeat(
        self,
        holder_id: str,
        now: float,
        busy: bool = False,
        idle_seconds: float = 0.0,
        device_bytes: int = 0,
    ) -> list[Event]:
        """Liveness plus usage: busy holders are never reclaimed; idle ones are ranked LRU."""
        events = self._expire(now)
        h = self._touch(holder_id, now)
        h.busy = busy
        h.last_used = now if busy else max(h.granted_at, now - max(0.0, idle_seconds))
        h.device_bytes = max(0, device_bytes)
        return events + self._pump(now)

    # ------------------------------------------------------------------ leases
    def acquire(
        self, holder_id: str, model_bytes: int, priority: int, max_wait: float, now: float
    ) -> list[Event]:
        """Ask for a lease; the answer is a Granted, Queued (then later one of the others)
        or Denied event for this holder."""
        events = self._expire(now)
        h = self._touch(holder_id, now)
        if model_bytes < 0:
            raise InvalidInput(f"model bytes must not be negative, got {model_bytes}")
        size = self.lease_size(h.stage, model_bytes)
        waiter = _Waiter(
            holder_id,
            h.stage,
            size,
            model_bytes,
            priority,
            enqueued_at=now,
            deadline=now + (max_wait if max_wait > 0 else self.config.max_wait_seconds),
            seq=next(self._seq),
        )
        refusal = self._refuse_at_once(h, waiter)
        if refusal is not None:
            return [*events, refusal]
        h.reclaim_deadline, h.reclaim_context = None, False  # a waiter is not idle
        self._queue.append(waiter)
        events += self._pump(now)
        if waiter in self._queue:
            events.append(Queued(holder_id, h.stage, self._position(waiter, now), self.granted))
        return events

    def release(self, holder_id: str, now: float, context_released: bool = False) -> list[Event]:
        """Give the model lease back (and the context too when the process left the device).
        A waiting request of the holder is withdrawn (Denied CANCELLED)."""
        events = self._expire(now)
        h = self._touch(holder_id, now)
        for w in [w for w in self._queue if w.holder_id == holder_id]:
            self._queue.remove(w)
            events.append(self._deny(w, "CANCELLED", "request withdrawn by the holder", now))
        model, context = h.model_bytes, h.context_bytes if context_released else 0
        h.model_bytes = h.requested_bytes = 0
        h.context_bytes -= context
        h.reclaim_deadline = None
        h.reclaim_context = False
        events.append(Released(holder_id, h.stage, "released", model, context))
        return events + self._pump(now)

    def report_peak(self, holder_id: str, peak_bytes: int, now: float) -> list[Event]:
        """Learn the stage's footprint from a measured peak (the largest one seen wins)."""
        events = self._expire(now)
        h = self._touch(holder_id, now)
        if peak_bytes <= 0:
            return events
        self._learned[h.stage] = max(self._learned.get(h.stage, 0), peak_bytes)
        if h.model_bytes and peak_bytes > h.model_bytes:
            events.append(Overrun(holder_id, h.stage, h.model_bytes, peak_bytes))
        return events + self._pump(now)

    def set_budget(self, budget_bytes: int, now: float) -> list[Event]:
        """Change the budget; when it shrinks below what is granted, idle holders are
        reclaimed and nothing new is granted until the ledger fits again."""
        if budget_bytes <= 0:
            raise InvalidInput(f"budget must be positive, got {budget_bytes}")
        events = self._expire(now)
        self.budget = budget_bytes
        if self.granted > self.budget:
            events += self._reclaim(self.granted - self.budget, now, exclude=None)
        return events + self._pump(now)

    # ------------------------------------------------------------------ time
    def advance(self, now: float) -> list[Event]:
        """Apply everything due at `now` (call at `next_deadline()`)."""
        return self._expire(now) + self._pump(now)

    def next_deadline(self, now: float) -> float | None:
        """The next instant at which `advance` has something to do (None: nothing pending)."""
        ttl = self.config.ttl_seconds
        due = [h.last_seen + ttl for h in self._holders.values()]
        due += [w.deadline for w in self._queue]
        due += [h.reclaim_deadline for h in self._holders.values() if h.reclaim_deadline]
        soft: list[float] = []
        if self._queue:  # the order or the set of reclaimable holders changes at these times
            soft += [w.enqueued_at + self.config.aging_seconds for w in self._queue]
            soft += [w.enqueued_at + self.config.reclaim_timeout_seconds for w in self._queue]
            soft += [
                h.granted_at + self.config.min_residency_seconds
                for h in self._holders.values()
                if h.model_bytes
            ]
        times = [max(t, now) for t in due] + [t for t in soft if t > now]
        return min(times) if times else None

    # ------------------------------------------------------------------ snapshot
    def snapshot(self, now: float) -> LedgerSnapshot:
        holders = tuple(
            HolderView(
                h.holder_id,
                h.stage,
                h.pid,
                h.model_bytes,
                h.context_bytes,
                h.requested_bytes,
                now - h.granted_at if h.model_bytes else 0.0,
                h.reclaim_deadline is not None,
                h.busy,
                0.0 if h.busy else max(0.0, now - h.last_used),
                h.device_bytes,
            )
            for h in self._holders.values()
        )
        queue = tuple(
            WaiterView(w.holder_id, w.stage, self._need(w), w.priority, now - w.enqueued_at)
            for w in self._ordered(now)
        )
        return LedgerSnapshot(
            self.config.device_index,
            self.budget,
            self.granted,
            self._high_water,
            holders,
            queue,
            dict(self._learned),
        )

    # ------------------------------------------------------------------ internals
    def _touch(self, holder_id: str, now: float) -> _Holder:
        h = self._holders.get(holder_id)
        if h is None:
            raise NotFound(f"holder {holder_id!r} has no session (expired or never opened)")
        h.last_seen = now
        return h

    def _need(self, w: _Waiter) -> int:
        charged = self._holders[w.holder_id].context_bytes > 0
        return lease_need(w.model_bytes, self.config.context_bytes, charged)

    def _order_key(self, w: _Waiter, now: float) -> tuple[int, int, float, int]:
        if now - w.enqueued_at >= self.config.aging_seconds:
            return (0, 0, w.enqueued_at, w.seq)  # aged: strict FIFO ahead of everyone
        return (1, -w.priority, w.enqueued_at, w.seq)

    def _ordered(self, now: float) -> list[_Waiter]:
        return sorted(self._queue, key=lambda w: self._order_key(w, now))

    def _position(self, w: _Waiter, now: float) -> int:
        return self._ordered(now).index(w) + 1

    def _refuse_at_once(self, h: _Holder, w: _Waiter) -> Denied | None:
        if h.model_bytes or any(q.holder_id == h.holder_id for q in self._queue):
            return self._denial(
                w,
                "FAILED_PRECONDITION",
                f"holder {h.holder_id!r} already holds or awaits a lease: release it first "
                "(a holder never waits while holding)",
                position=0,
                waited=0.0,
            )
        need = self._need(w)
        if need > self.budget:
            return self._too_large(w, need)
        return None

    def _too_large(self, w: _Waiter, need: int) -> Denied:
        ctx = need - w.model_bytes
        return self._denial(
            w,
            "FAILED_PRECONDITION",
            f"stage {w.stage!r} needs {_gib(need)} ({_gib(w.model_bytes)} model + {_gib(ctx)} "
            f"CUDA context) but the budget of device {self.config.device_index} is "
            f"{_gib(self.budget)}: {_gib(need - self.budget)} too large to ever fit",
            position=0,
            waited=0.0,
        )

    def _denial(
        self, w: _Waiter, code: DenyCode, message: str, position: int, waited: float
    ) -> Denied:
        return Denied(
            w.holder_id,
            w.stage,
            code,
            message,
            self._need(w),
            self.budget,
            self.granted,
            position,
            waited,
        )

    def _deny(self, w: _Waiter, code: DenyCode, message: str, now: float) -> Denied:
        return self._denial(w, code, message, position=0, waited=now - w.enqueued_at)

    def _pump(self, now: float) -> list[Event]:
        """Serve the queue in order; stop at the first request that does not fit."""
        events: list[Event] = []
        while self._queue:
            head = self._ordered(now)[0]
            need = self._need(head)
            if need > self.budget:  # the budget shrank under a waiting request
                self._queue.remove(head)
                events.append(self._too_large(head, need))
            elif need <= self.free:
                events.append(self._grant(head, now))
            else:
                shortfall = need - self.free
                waited = now - head.enqueued_at
                events += self._reclaim(shortfall, now, exclude=head.holder_id, waited=waited)
                break
        return events

    def _grant(self, w: _Waiter, now: float) -> Granted:
        h = self._holders[w.holder_id]
        context = 0 if h.context_bytes else self.config.context_bytes
        self._queue.remove(w)
        h.context_bytes += context
        h.model_bytes, h.requested_bytes = w.model_bytes, w.requested_bytes
        h.granted_at = h.last_used = now
        h.reclaim_deadline = None
        self._high_water = max(self._high_water, self.granted)
        return Granted(
            w.holder_id, w.stage, w.model_bytes, context, w.requested_bytes, now - w.enqueued_at
        )

    def _reclaim(
        self, shortfall: int, now: float, exclude: str | None, waited: float = 0.0
    ) -> list[Event]:
        """Ask LRU idle holders for `shortfall` bytes, counting reclaims already asked for.
        Models are parked first. When parking the idle ones cannot cover the shortfall but
        parking the busy (or too recently granted) ones too would, the request waits for
        them, up to `reclaim_timeout_seconds` of its wait: a context given back costs the
        holder a cold load later (tens of seconds for a GPU model), a wait for a running
        request usually less. Only then are holders that can leave the device asked to
        give their contexts back too. Nobody is asked when even all of that together could
        not cover it."""
        shortfall -= sum(
            h.reclaimable(h.reclaim_context) for h in self._holders.values() if h.reclaim_deadline
        )
        if shortfall <= 0:
            return []
        models = self._reclaim_candidates(now, exclude, contexts=False)
        idle = sum(h.model_bytes for h in models)
        with_context = idle < shortfall
        if with_context and waited < self.config.reclaim_timeout_seconds:
            later = sum(
                h.model_bytes
                for h in self._holders.values()
                if h.model_bytes and h.reclaim_deadline is None and h.holder_id != exclude
                and h not in models
            )  # fmt: skip
            if idle + later >= shortfall:
                return []  # the next heartbeat or residency deadline looks again
        victims = self._reclaim_candidates(now, exclude, contexts=True) if with_context else models
        if sum(h.reclaimable(with_context and h.can_release_context) for h in victims) < shortfall:
            return []
        events: list[Event] = []
        timeout, min_res = self.config.reclaim_timeout_seconds, self.config.min_residency_seconds
        for h in victims:
            if shortfall <= 0:
                break
            h.reclaim_deadline = now + timeout
            h.reclaim_context = with_context and h.can_release_context
            events.append(
                Reclaim(h.holder_id, h.stage, shortfall, min_res, timeout, h.reclaim_context)
            )
            shortfall -= h.reclaimable(h.reclaim_context)
        return events

    def _reclaim_candidates(self, now: float, exclude: str | None, contexts: bool) -> list[_Holder]:
        """Idle holders that may be asked, least recently used first: models resident for
        the minimum residency; with `contexts`, also parked holders able to leave."""
        waiting = {w.holder_id for w in self._queue}
        min_res = self.config.min_residency_seconds
        out = [
            h
            for h in self._holders.values()
            if h.reclaim_deadline is None
            and not h.busy
            and h.holder_id != exclude
            and (
                (h.model_bytes and now - h.granted_at >= min_res)
                or (
                    contexts
                    and not h.model_bytes
                    and h.context_bytes
                    and h.can_release_context
                    and h.holder_id not in waiting
                )
            )
        ]
        return sorted(out, key=lambda h: (h.last_used, h.granted_at, h.holder_id))

    def _expire(self, now: float) -> list[Event]:
        events: list[Event] = []
        ttl = self.config.ttl_seconds
        for h in [h for h in self._holders.values() if h.last_seen + ttl <= now]:
            events.append(self._drop(h.holder_id, "expired"))
        for h in self._holders.values():
            if h.reclaim_deadline is not None and h.reclaim_deadline <= now:
                h.reclaim_deadline = None
                events.append(ReclaimTimedOut(h.holder_id, h.stage))
        if any(w.deadline <= now for w in self._queue):
            events += self._pump(now)  # memory freed in time serves a waiter before its bound
        for w in [w for w in self._ordered(now) if w.deadline <= now]:
            position = self._position(w, now)
            self._queue.remove(w)
            message = (
                f"stage {w.stage!r} waited {now - w.enqueued_at:.1f}s for "
                f"{_gib(self._need(w))} on device {self.config.device_index} "
                f"(budget {_gib(self.budget)}, granted {_gib(self.granted)}, "
                f"queue position {position})"
            )
            events.append(
                self._denial(w, "RESOURCE_EXHAUSTED", message, position, now - w.enqueued_at)
            )
        return events

    def _drop(self, holder_id: str, reason: ReleaseReason) -> Released:
        h = self._holders.pop(holder_id)
        self._queue = [w for w in self._queue if w.holder_id != holder_id]
        return Released(holder_id, h.stage, reason, h.model_bytes, h.context_bytes)


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.2f} GiB"
