"""The hook through which a stage asks for GPU memory before putting weights on the device.

The arbiter (docs/design.md §Leases) implements it over gRPC; without an arbiter every request is
granted at once (NoLease).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class LeaseHook(Protocol):
    """Acquire before weights go onto the device; release after they left it."""

    async def acquire(self, nbytes: int) -> None:
        """Block until `nbytes` of device memory are granted (raise to refuse)."""

    async def release(self) -> None:
        """Give the granted memory back."""

    async def report_peak(self, nbytes: int) -> None:
        """Tell the arbiter the peak the last request really used (to learn footprints)."""


@runtime_checkable
class ContextReleasingLease(Protocol):
    """A lease hook that can also give the process's CUDA context back (worker mode)."""

    async def release_context(self) -> None:
        """Give back the lease, if one is held, and the context: the process that held the
        model's CUDA context exited (a worker-mode model went COLD)."""


class NoLease:
    """No arbiter: memory is always granted."""

    async def acquire(self, nbytes: int) -> None:
        return None

    async def release(self) -> None:
        return None

    async def release_context(self) -> None:
        return None

    async def report_peak(self, nbytes: int) -> None:
        return None


@dataclass(frozen=True)
class LeaseUsage:
    """What a stage tells the arbiter in its heartbeats."""

    busy: bool
    idle_seconds: float
    device_bytes: int


class LeaseListener(Protocol):
    """The stage side of a lease client (ModelRunner): usage out, reclaim / loss in."""

    def lease_usage(self) -> LeaseUsage:
        """Current usage, for the heartbeat."""

    def on_reclaim(self, min_residency_seconds: float, timeout_seconds: float) -> None:
        """The arbiter asks for the memory back: park when idle and resident long enough."""

    def on_lease_lost(self) -> None:
        """The lease could not be renewed: stop using the device as soon as possible."""


@runtime_checkable
class ContextReclaimListener(Protocol):
    """A listener that can leave the device entirely when the arbiter asks for its context
    too (worker mode)."""

    def on_reclaim_context(self, min_residency_seconds: float, timeout_seconds: float) -> None:
        """As on_reclaim, but go COLD (the worker exits) instead of parking."""
