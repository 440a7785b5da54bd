"""Plain data of the arbiter: configuration, the events it emits and read-only snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

MIB = 1 << 20
GIB = 1 << 30
CUDA_CONTEXT_BYTES = 617 * MIB  # measured per process on an H200 (docs/design.md §Measured physics)


def model_lease_bytes(learned: int, estimate: int, asked: int = 0) -> int:
    """Model bytes a lease of a stage gets (its weights + activation peak, no context): the
    largest peak the stage reported once one is known, else the larger of what it asks and
    the configured estimate."""
    return learned if learned > 0 else max(asked, estimate)


def lease_need(model_bytes: int, context_bytes: int, context_charged: bool) -> int:
    """What a lease takes from the budget: the model bytes plus, for a process whose CUDA
    context is not charged yet, one context. The only place the two are added."""
    return model_bytes + (0 if context_charged else context_bytes)


DenyCode = Literal["RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "INVALID_ARGUMENT", "CANCELLED"]
ReleaseReason = Literal["released", "expired", "closed"]


@dataclass(frozen=True)
class ArbiterConfig:
    """Policy knobs of one device's arbiter (built from ArbiterSettings)."""

    budget_bytes: int
    device_index: int = 0
    context_bytes: int = CUDA_CONTEXT_BYTES
    ttl_seconds: float = 5.0
    heartbeat_seconds: float = 1.0
    min_residency_seconds: float = 10.0
    max_wait_seconds: float = 120.0
    aging_seconds: float = 30.0
    reclaim_timeout_seconds: float = 15.0
    estimates: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.budget_bytes <= 0:
            raise ValueError(f"budget must be positive, got {self.budget_bytes} bytes")
        if not 0 < self.heartbeat_seconds < self.ttl_seconds:
            raise ValueError("heartbeat interval must be positive and shorter than the TTL")
        for name in ("max_wait_seconds", "aging_seconds", "reclaim_timeout_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.min_residency_seconds < 0 or self.context_bytes < 0:
            raise ValueError("min residency and context bytes must not be negative")


# ----------------------------------------------------------------------------- events
@dataclass(frozen=True)
class Granted:
    """A lease was granted: the holder may put its model on the device."""

    holder_id: str
    stage: str
    model_bytes: int
    context_bytes: int
    requested_bytes: int
    waited_seconds: float


@dataclass(frozen=True)
class Queued:
    """A request did not fit and waits."""

    holder_id: str
    stage: str
    position: int
    granted_bytes: int


@dataclass(frozen=True)
class Denied:
    """A request was refused; `message` carries the numbers for the caller."""

    holder_id: str
    stage: str
    code: DenyCode
    message: str
    requested_bytes: int
    budget_bytes: int
    granted_bytes: int
    queue_position: int
    waited_seconds: float


@dataclass(frozen=True)
class Reclaim:
    """The holder is asked to park or unload (it is idle, and the LRU one old enough)."""

    holder_id: str
    stage: str
    needed_bytes: int
    min_residency_seconds: float
    timeout_seconds: float
    release_context: bool = False


@dataclass(frozen=True)
class ReclaimTimedOut:
    """A holder asked to give memory back did not within the reclaim timeout."""

    holder_id: str
    stage: str


@dataclass(frozen=True)
class Released:
    """Memory went back to the pool; reason `expired`/`closed` also ends the session."""

    holder_id: str
    stage: str
    reason: ReleaseReason
    model_bytes: int
    context_bytes: int


@dataclass(frozen=True)
class Overrun:
    """A holder reported a peak above the lease it holds (the ledger under-counts it)."""

    holder_id: str
    stage: str
    lease_bytes: int
    peak_bytes: int


Event = Granted | Queued | Denied | Reclaim | ReclaimTimedOut | Released | Overrun


# ----------------------------------------------------------------------------- snapshots
@dataclass(frozen=True)
class HolderView:
    """One open session as the ledger sees it."""

    holder_id: str
    stage: str
    pid: int
    model_bytes: int
    context_bytes: int
    requested_bytes: int
    held_seconds: float
    reclaiming: bool
    busy: bool
    idle_seconds: float
    device_bytes: int


@dataclass(frozen=True)
class WaiterView:
    """One waiting request, in service order."""

    holder_id: str
    stage: str
    bytes: int
    priority: int
    waited_seconds: float


@dataclass(frozen=True)
class LedgerSnapshot:
    """The ledger of one device at one instant."""

    device_index: int
    budget_bytes: int
    granted_bytes: int
    high_water_bytes: int
    holders: tuple[HolderView, ...]
    queue: tuple[WaiterView, ...]
    learned: Mapping[str, int]

    @property
    def free_bytes(self) -> int:
        return max(0, self.budget_bytes - self.granted_bytes)

    @property
    def reserved_by_learning(self) -> int:
        """Model bytes granted above (or, if negative, below) what holders asked for."""
        return sum(h.model_bytes - h.requested_bytes for h in self.holders if h.model_bytes)

    @property
    def reported_device_bytes(self) -> int:
        """Sum of the device bytes holders say they use (the simulated device's truth)."""
        return sum(h.device_bytes for h in self.holders)

    def granted_by_stage(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for h in self.holders:
            out[h.stage] = out.get(h.stage, 0) + h.model_bytes + h.context_bytes
        return out
