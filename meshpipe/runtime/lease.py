"""The hook through which a stage asks for GPU memory before putting weights on the device.

The arbiter (DESIGN section 5) implements it over gRPC; without an arbiter every request is
granted at once (NoLease).
"""

from __future__ import annotations

from typing import Protocol


class LeaseHook(Protocol):
    """Acquire before weights go onto the device; release after they left it."""

    async def acquire(self, nbytes: int) -> None:
        """Block until `nbytes` of device memory are granted (raise to refuse)."""

    async def release(self) -> None:
        """Give the granted memory back."""

    async def report_peak(self, nbytes: int) -> None:
        """Tell the arbiter the peak the last request really used (to learn footprints)."""


class NoLease:
    """No arbiter: memory is always granted."""

    async def acquire(self, nbytes: int) -> None:
        return None

    async def release(self) -> None:
        return None

    async def report_peak(self, nbytes: int) -> None:
        return None
