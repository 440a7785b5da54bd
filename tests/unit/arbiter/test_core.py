"""LeaseCore decisions on hand-built scenarios with a virtual clock."""

from __future__ import annotations

import pytest

from meshpipe.errors import FailedPrecondition, NotFound
from orchestrator.arbiter.ledger import GIB, Denied, Granted, Overrun, Queued, Reclaim, Released
from tests.unit.arbiter.helpers import CTX, kinds, make_core


def test_grant_charges_the_context_once_and_a_park_keeps_it() -> None:
    core = make_core(10)
    core.open("a", "shape", 0)
    [granted] = core.acquire("a", 4 * GIB, 0, 0, 0)
    assert isinstance(granted, Granted)
    assert (granted.model_bytes, granted.context_bytes) == (4 * GIB, CTX)
    assert core.granted == 4 * GIB + CTX
    core.release("a", 1)  # parked in-process: the CUDA context stays on the device
    assert core.granted == CTX
    [again] = core.acquire("a", 4 * GIB, 0, 0, 2)
    assert isinstance(again, Granted) and again.context_bytes == 0, "context charged twice"
    core.release("a", 3, context_released=True)  # model worker exited
    assert core.granted == 0


def test_a_footprint_larger_than_the_budget_fails_at_once_with_the_numbers() -> None:
    core = make_core(8)
    core.open("t", "texture", 0)
    [denied] = core.acquire("t", 10 * GIB, 0, 0, 0)
    assert isinstance(denied, Denied) and denied.code == "FAILED_PRECONDITION"
    assert "texture" in denied.message and "2.50 GiB too large" in denied.message
    assert denied.requested_bytes == 10 * GIB + CTX and denied.budget_bytes == 8 * GIB
    assert core.snapshot(0).queue == ()


def test_a_holder_never_waits_while_holding() -> None:
    core = make_core(10)
    core.open("a", "shape", 0)
    core.acquire("a", GIB, 0, 0, 0)
    [denied] = core.acquire("a", GIB, 0, 0, 1)
    assert isinstance(denied, Denied) and denied.code == "FAILED_PRECONDITION"
    assert "never waits while holding" in denied.message


def test_reclaim_asks_the_least_recently_used_idle_holder_old_enough() -> None:
    core = make_core(10)
    for h in ("a", "b", "c"):
        core.open(h, "shape", 0)
    core.acquire("a", 4 * GIB, 0, 0, 0)
    core.acquire("b", 4 * GIB, 0, 0, 0)
    core.heartbeat("a", 2.0, busy=False, idle_seconds=0.2)  # a used at 1.8
    core.heartbeat("b", 2.0, busy=False, idle_seconds=1.5)  # b used at 0.5: LRU
    events = core.acquire("c", 4 * GIB, 0, 0, 2.0)
    assert kinds(events) == [("Reclaim", "b"), ("Queued", "c")]
    reclaim = events[0]
    assert isinstance(reclaim, Reclaim) and reclaim.needed_bytes == 4 * GIB + CTX - (
        10 * GIB - 2 * (4 * GIB + CTX)
    )
    assert core.snapshot(2.0).holders[1].reclaiming
    events = core.release("b", 2.5)  # b parked
    assert kinds(events) == [("Released", "b"), ("Granted", "c")]
    assert core.granted <= core.budget


def test_young_and_busy_holders_are_never_reclaimed() -> None:
    core = make_core(10, min_residency_seconds=5.0)
    for h in ("a", "b", "c"):
        core.open(h, "shape", 0)
    core.acquire("a", 4 * GIB, 0, 0, 0)
    core.acquire("b", 4 * GIB, 0, 0, 3)
    core.heartbeat("a", 3.5, busy=True)
    assert kinds(core.acquire("c", 4 * GIB, 0, 0, 4.0)) == [("Queued", "c")]
    assert core.next_deadline(4.0) == 5.0, "must wake when a becomes old enough"
    assert core.advance(5.0) == [], "a is busy and b is younger than the minimum residency"
    assert kinds(core.heartbeat("a", 6.0, busy=False, idle_seconds=0.5)) == [("Reclaim", "a")]


def test_no_reclaim_when_even_every_idle_holder_could_not_make_it_fit() -> None:
    core = make_core(10)
    for h in ("busy", "idle", "new"):
        core.open(h, "shape", 0)
    core.acquire("busy", 6 * GIB, 0, 0, 0)
    core.acquire("idle", 2 * GIB, 0, 0, 0)
    core.heartbeat("busy", 2, busy=True)
    core.heartbeat("idle", 2, busy=False, idle_seconds=1)
    assert kinds(core.acquire("new", 5 * GIB, 0, 0, 2)) == [("Queued", "new")]


def test_a_bounded_wait_ends_in_resource_exhausted_with_the_numbers() -> None:
    core = make_core(10)
    core.open("a", "shape", 0)
    core.open("b", "texture", 0)
    core.acquire("a", 8 * GIB, 0, 0, 0)
    core.heartbeat("a", 0.5, busy=True)
    core.acquire("b", 6 * GIB, 0, 2.0, 1.0)
    assert core.next_deadline(1.0) == pytest.approx(3.0)
    core.heartbeat("a", 2.9, busy=True)  # keep a alive and busy
    [denied] = core.advance(3.0)
    assert isinstance(denied, Denied) and denied.code == "RESOURCE_EXHAUSTED"
    assert denied.requested_bytes == 6 * GIB + CTX
    assert denied.budget_bytes == 10 * GIB and denied.granted_bytes == 8 * GIB + CTX
    assert denied.queue_position == 1 and denied.waited_seconds == pytest.approx(2.0)
    assert "queue position 1" in denied.message and "texture" in denied.message


def test_a_silent_holder_loses_its_lease_after_the_ttl() -> None:
    core = make_core(10)
    core.open("crashed", "shape", 0)
    core.open("waiting", "texture", 0)
    core.acquire("crashed", 8 * GIB, 0, 0, 0)
    core.acquire("waiting", 8 * GIB, 0, 60, 1)
    core.heartbeat("waiting", 4.0)
    assert core.next_deadline(4.0) == pytest.approx(5.0)
    events = core.advance(5.0)
    assert kinds(events) == [("Released", "crashed"), ("Granted", "waiting")]
    released = events[0]
    assert isinstance(released, Released) and released.reason == "expired"
    assert not core.has_session("crashed")
    with pytest.raises(NotFound):
        core.heartbeat("crashed", 5.1)


def test_closing_a_session_frees_everything_at_once() -> None:
    core = make_core(10)
    core.open("a", "shape", 0)
    core.acquire("a", 3 * GIB, 0, 0, 0)
    [released] = core.close("a", 0.1)
    assert isinstance(released, Released) and released.reason == "closed"
    assert released.model_bytes == 3 * GIB and released.context_bytes == CTX
    assert core.granted == 0


def test_duplicate_sessions_are_refused_until_the_old_one_expires() -> None:
    core = make_core(10)
    core.open("a", "shape", 0)
    with pytest.raises(FailedPrecondition):
        core.open("a", "shape", 1)
    core.open("a", "shape", 5.0)  # the first session expired at t=5


def test_learned_footprints_size_later_leases() -> None:
    core = make_core(24, estimates={"shape": 12 * GIB})
    core.open("s", "shape", 0)
    [first] = core.acquire("s", 6 * GIB, 0, 0, 0)
    assert isinstance(first, Granted) and first.model_bytes == 12 * GIB, "estimate is the start"
    core.report_peak("s", 10 * GIB, 1)
    core.release("s", 2)
    [second] = core.acquire("s", 6 * GIB, 0, 0, 3)
    assert isinstance(second, Granted) and second.model_bytes == 10 * GIB
    assert core.snapshot(3).reserved_by_learning == 4 * GIB
    [overrun] = core.report_peak("s", 11 * GIB, 4)
    assert isinstance(overrun, Overrun) and overrun.lease_bytes == 10 * GIB
    assert core.lease_size("shape", 0) == 11 * GIB


def test_priorities_then_fifo_and_aged_requests_go_first() -> None:
    core = make_core(10, aging_seconds=10.0, ttl_seconds=100.0)
    for h in ("holder", "low", "high", "late"):
        core.open(h, "shape", 0)
    core.acquire("holder", 9 * GIB, 0, 0, 0)
    core.heartbeat("holder", 0, busy=True)
    core.acquire("low", GIB, 0, 100, 1)
    core.acquire("high", GIB, 5, 100, 2)
    order = [w.holder_id for w in core.snapshot(3).queue]
    assert order == ["high", "low"], "higher priority first before aging"
    for h in ("holder", "low", "high", "late"):
        core.heartbeat(h, 11.5, busy=(h == "holder"))
    core.acquire("late", GIB, 9, 100, 11.5)
    order = [w.holder_id for w in core.snapshot(11.5).queue]
    assert order == ["low", "late", "high"], "aged first; the others by priority"
    order = [w.holder_id for w in core.snapshot(12.5).queue]
    assert order == ["low", "high", "late"], "aged requests are served FIFO before priorities"


def test_release_withdraws_a_waiting_request() -> None:
    core = make_core(10)
    core.open("a", "shape", 0)
    core.open("b", "shape", 0)
    core.acquire("a", 9 * GIB, 0, 0, 0)
    assert isinstance(core.acquire("b", 2 * GIB, 0, 0, 1)[-1], Queued)
    events = core.release("b", 2)
    assert isinstance(events[0], Denied) and events[0].code == "CANCELLED"
    assert core.snapshot(2).queue == ()


def test_a_shrinking_budget_reclaims_and_blocks_grants_until_the_ledger_fits() -> None:
    core = make_core(20)
    for h in ("a", "b", "c"):
        core.open(h, "shape", 0)
    core.acquire("a", 8 * GIB, 0, 0, 0)
    core.acquire("b", 8 * GIB, 0, 0, 0)
    for h in ("a", "b"):
        core.heartbeat(h, 3, idle_seconds=2)
    events = core.set_budget(12 * GIB, 3)
    assert [type(e).__name__ for e in events] == ["Reclaim"], events
    assert kinds(core.acquire("c", GIB, 0, 0, 3.1)) == [("Queued", "c")]
    core.release(events[0].holder_id, 4)
    assert core.granted <= core.budget
    big = core.acquire("c", 0, 0, 0, 4.1)
    assert isinstance(big[-1], Denied) and big[-1].code == "FAILED_PRECONDITION"


def test_parked_contexts_are_reclaimed_only_from_holders_that_can_leave() -> None:
    core = make_core(6)  # 0.5 GiB contexts
    core.open("det", "detector", 0, can_release_context=True)
    core.open("mat", "matting", 0)  # in-process model: its context stays while it lives
    core.open("shape", "shape", 0)
    for h in ("det", "mat"):
        core.acquire(h, GIB, 0, 0, 0)
        core.release(h, 1)  # parked: 2 contexts charged
    assert core.granted == 2 * CTX
    events = core.acquire("shape", 5 * GIB, 0, 0, 2)  # needs 5.5 of the 5 GiB left
    reclaim = events[0]
    assert isinstance(reclaim, Reclaim) and reclaim.holder_id == "det"
    assert reclaim.release_context, "det must leave the device, not just park"
    assert kinds(core.release("det", 3, context_released=True)) == [
        ("Released", "det"),
        ("Granted", "shape"),
    ]
    assert core.granted == 5 * GIB + 2 * CTX


def test_a_busy_holder_is_waited_for_before_an_idle_one_must_give_its_context_back() -> None:
    """Texture (parked, context charged) needs 4 GiB; parking the idle shape (3 GiB) is not
    enough, parking the busy detector too would be: texture waits for the detector rather
    than making shape leave the device (a cold load later), up to the reclaim timeout."""
    core = make_core(8.25)  # 0.5 GiB contexts, reclaim timeout 3 s, minimum residency 1 s
    for h, stage in (("shape", "shape"), ("det", "detector"), ("tex", "texture")):
        core.open(h, stage, 0, can_release_context=True)
    core.acquire("tex", GIB, 0, 0, 0)
    core.release("tex", 0.5)  # parked: its context stays charged
    core.acquire("shape", 3 * GIB, 0, 0, 1)
    core.acquire("det", 3 * GIB, 0, 0, 1)
    core.heartbeat("shape", 2.5, idle_seconds=1.0)
    core.heartbeat("det", 2.5, busy=True)
    assert kinds(core.acquire("tex", 4 * GIB, 0, 0, 3)) == [("Queued", "tex")], "no reclaim yet"
    events = core.heartbeat("det", 3.5, idle_seconds=0.1)  # the detector's request ended
    reclaims = [e for e in events if isinstance(e, Reclaim)]
    assert [r.holder_id for r in reclaims] == ["shape", "det"]
    assert not any(r.release_context for r in reclaims), "parks are enough: no context back"


def test_a_context_is_asked_for_once_the_wait_for_a_busy_holder_passed_the_timeout() -> None:
    core = make_core(8.25)
    for h, stage in (("shape", "shape"), ("det", "detector"), ("tex", "texture")):
        core.open(h, stage, 0, can_release_context=True)
    core.acquire("tex", GIB, 0, 0, 0)
    core.release("tex", 0.5)
    core.acquire("shape", 3 * GIB, 0, 0, 1)
    core.acquire("det", 3 * GIB, 0, 0, 1)
    core.heartbeat("shape", 2.5, idle_seconds=1.0)
    core.heartbeat("det", 2.5, busy=True)
    core.acquire("tex", 4 * GIB, 0, 0, 3)
    assert core.next_deadline(3.1) == pytest.approx(6.0), "woken at the reclaim timeout"
    core.heartbeat("det", 5.9, busy=True)
    core.heartbeat("shape", 5.9, idle_seconds=4.4)
    events = core.advance(6.0)  # waited 3 s: the detector is still busy
    [reclaim] = [e for e in events if isinstance(e, Reclaim)]
    assert reclaim.holder_id == "shape" and reclaim.release_context
