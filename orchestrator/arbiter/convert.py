"""Domain <-> protobuf at the arbiter's gRPC boundary (the rest never sees pb2 types)."""

from __future__ import annotations

from meshpipe.v1 import arbiter_pb2
from orchestrator.arbiter.arbiter import HeartbeatAck, Outgoing
from orchestrator.arbiter.ledger import (
    ArbiterConfig,
    Denied,
    Granted,
    LedgerSnapshot,
    Queued,
    Reclaim,
    Released,
)
from orchestrator.arbiter.truth import DeviceReading


def opened_pb(config: ArbiterConfig, budget_bytes: int) -> arbiter_pb2.HoldResponse:
    return arbiter_pb2.HoldResponse(
        opened=arbiter_pb2.HoldOpened(
            ttl_seconds=config.ttl_seconds,
            heartbeat_seconds=config.heartbeat_seconds,
            budget_bytes=budget_bytes,
            context_bytes=config.context_bytes,
        )
    )


def outgoing_pb(item: Outgoing) -> arbiter_pb2.HoldResponse | None:
    """The message a holder receives for an arbiter event (None: nothing to tell it)."""
    R = arbiter_pb2.HoldResponse
    if isinstance(item, HeartbeatAck):
        ack = arbiter_pb2.HoldHeartbeatAck(sequence=item.sequence, lease_held=item.lease_held)
        return R(heartbeat_ack=ack)
    if isinstance(item, Granted):
        return R(
            granted=arbiter_pb2.HoldGranted(
                model_bytes=item.model_bytes,
                context_bytes=item.context_bytes,
                waited_seconds=item.waited_seconds,
            )
        )
    if isinstance(item, Queued):
        queued = arbiter_pb2.HoldQueued(position=item.position, granted_bytes=item.granted_bytes)
        return R(queued=queued)
    if isinstance(item, Denied):
        return R(denied=denied_pb(item))
    if isinstance(item, Reclaim):
        return R(
            reclaim=arbiter_pb2.HoldReclaim(
                needed_bytes=item.needed_bytes,
                min_residency_seconds=item.min_residency_seconds,
                timeout_seconds=item.timeout_seconds,
                release_context=item.release_context,
            )
        )
    if isinstance(item, Released):
        return R(released=arbiter_pb2.HoldReleased(reason=item.reason))
    return None  # ReclaimTimedOut, Overrun: metrics only


def denied_pb(d: Denied) -> arbiter_pb2.HoldDenied:
    return arbiter_pb2.HoldDenied(
        code=d.code,
        message=d.message,
        requested_bytes=d.requested_bytes,
        budget_bytes=d.budget_bytes,
        granted_bytes=d.granted_bytes,
        queue_position=d.queue_position,
    )


def ledger_pb(
    snap: LedgerSnapshot, reading: DeviceReading | None, config: ArbiterConfig | None = None
) -> arbiter_pb2.GetLedgerResponse:
    return arbiter_pb2.GetLedgerResponse(
        device_index=snap.device_index,
        budget_bytes=snap.budget_bytes,
        granted_bytes=snap.granted_bytes,
        granted_high_water_bytes=snap.high_water_bytes,
        holders=[
            arbiter_pb2.LedgerHolder(
                holder_id=h.holder_id,
                stage=h.stage,
                model_bytes=h.model_bytes,
                context_bytes=h.context_bytes,
                held_seconds=h.held_seconds,
                reclaiming=h.reclaiming,
                busy=h.busy,
            )
            for h in snap.holders
        ],
        queue=[
            arbiter_pb2.LedgerWaiter(
                holder_id=w.holder_id,
                stage=w.stage,
                bytes=w.bytes,
                priority=w.priority,
                waited_seconds=w.waited_seconds,
            )
            for w in snap.queue
        ],
        learned_bytes=dict(snap.learned),
        device_used_bytes=reading.used if reading else 0,
        truth_source=reading.source if reading else "none",
        context_bytes=config.context_bytes if config else 0,
        estimated_bytes=dict(config.estimates) if config else {},
    )
