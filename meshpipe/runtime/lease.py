"""The hook through which a stage asks for GPU memory before putting weights on the device.

The arbiter (DESIGN section 5) implements it over gRPC; without an arbiter every request is
granted at once (NoLease).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class LeaseHook(Protocol):
    """Acquire before weights go onto the device; release after they left it."""

    async def acquire(self, nbytes: int) -> None:
        """Block until `nbytes` of device memory are granted (raise to refuse)."""

    async def release(self, context_released: bool = False) -> None:
        """Give the granted memory back; `context_released`: the process's CUDA context
        left the device too (a worker-mode model went COLD), also when no lease is held."""

    async def report_peak(self, nbytes: int) -> None:
        """Tell the arbiter the peak the last request really used (to learn footprints)."""


class NoLease:
    """No arbiter: memory is always granted."""

    async def acquire(self, nbytes: int) -> None:
        return None

    async def release(self, context_released: bool = False) -> None:
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

    def on_reclaim(
        self, min_residency_seconds: float, timeout_seconds: float, release_context: bool = False
    ) -> None:
        """The arbiter asks for the memory back: park when idle and resident long enough
        (with `release_context`: leave the device entirely, i.e. go COLD in worker mode)."""

    def on_lease_lost(self) -> None:
        """The lease could not be renewed: stop using the device as soon as possible."""
