"""What a stage backend implements: how to load and how to infer. The runtime decides when."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meshpipe.v1 import common_pb2


@dataclass(frozen=True)
class BackendInfo:
    """Which model serves a stage."""

    backend: str
    weights: str
    device: str = "cpu"

    def to_pb(self) -> common_pb2.BackendInfo:
        return common_pb2.BackendInfo(
            backend=self.backend, weights=self.weights, device=self.device
        )


@dataclass(frozen=True)
class DeviceMemory:
    """Device memory of the process as the framework sees it, bytes."""

    allocated: int = 0
    reserved: int = 0
    peak_reserved: int = 0


class Backend(ABC):
    """One model. Methods are blocking and are called from a worker thread by ModelRunner.

    Lifecycle calls never overlap each other or an inference call; inference calls may
    overlap each other only up to the stage's max_concurrency.
    """

    @property
    @abstractmethod
    def info(self) -> BackendInfo:
        """Backend id, weights and device."""

    @property
    def footprint_bytes(self) -> int:
        """Device memory expected while resident (0 for CPU-only backends)."""
        return 0

    @abstractmethod
    def load(self) -> None:
        """COLD -> RESIDENT: read the weights and put them on the serving device."""

    def warmup(self) -> None:  # noqa: B027 - optional hook
        """Run one representative request so that the first real one is not slow."""

    def park(self) -> None:  # noqa: B027 - optional hook
        """RESIDENT -> PARKED: move the weights to host memory and release device memory."""

    def wake(self) -> None:  # noqa: B027 - optional hook
        """PARKED -> RESIDENT: move the weights back onto the device."""

    @abstractmethod
    def unload(self) -> None:
        """-> COLD: drop the weights entirely."""

    def memory(self) -> DeviceMemory:
        """Current device memory of this process (zeros on CPU)."""
        return DeviceMemory()

    def reset_peak_memory(self) -> None:  # noqa: B027 - optional hook
        """Reset the framework's peak-memory counter before a request."""

    # Runtime hooks (worker mode, meshpipe/runtime/worker.py); backends leave them alone.
    @property
    def leaves_device_when_cold(self) -> bool:
        """True when going COLD frees the process's CUDA context too (a worker exits)."""
        return False

    def process_id(self) -> int | None:
        """The process whose device memory this backend uses (None: this process; also
        None when a worker-mode model has no worker)."""
        return None

    def serving_call(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """What the runtime calls to serve a request with `fn` (a worker-mode backend
        sends its own methods to its worker)."""
        return fn

    def lost(self) -> str | None:
        """Why the loaded model is gone without an unload (its worker died), else None."""
        return None
