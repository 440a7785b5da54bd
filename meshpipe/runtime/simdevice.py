"""A simulated GPU for a stage: the real backend runs (on CPU) while the stage reports a
configured device footprint, so that the arbiter's leases, reclaims and TTLs run with real
processes where there is no GPU (CI, laptops). Enabled by `sim_device_bytes > 0`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from meshpipe.runtime.backend import Backend, BackendInfo, DeviceMemory
from meshpipe.runtime.settings import StageSettings


class SimulatedDeviceBackend(Backend):
    """Wraps a backend; memory() reports `model_bytes` while resident plus a CUDA context
    from the first load on (an in-process park or unload keeps the context, as on a GPU).

    Other attributes (the stage's inference methods) are those of the wrapped backend.
    """

    def __init__(
        self,
        inner: Backend,
        model_bytes: int,
        context_bytes: int,
        load_seconds: float = 0.0,
        device_index: int = 0,
    ) -> None:
        self.inner = inner
        self.model_bytes = model_bytes
        self.context_bytes = context_bytes
        self.load_seconds = load_seconds
        self.device_index = device_index
        self._resident = False
        self._has_context = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def info(self) -> BackendInfo:
        inner = self.inner.info
        return BackendInfo(inner.backend, inner.weights, f"sim:{self.device_index}")

    @property
    def footprint_bytes(self) -> int:
        return self.model_bytes

    def load(self) -> None:
        self.inner.load()
        self._on_device()

    def warmup(self) -> None:
        self.inner.warmup()

    def park(self) -> None:
        self.inner.park()
        self._resident = False

    def wake(self) -> None:
        self.inner.wake()
        self._on_device()

    def unload(self) -> None:
        self.inner.unload()
        self._resident = False

    def memory(self) -> DeviceMemory:
        model = self.model_bytes if self._resident else 0
        context = self.context_bytes if self._has_context else 0
        return DeviceMemory(allocated=model, reserved=model + context, peak_reserved=model)

    def reset_peak_memory(self) -> None:
        self.inner.reset_peak_memory()

    def _on_device(self) -> None:
        time.sleep(self.load_seconds)
        self._resident = self._has_context = True


def simulate_device(backend: Backend, settings: StageSettings) -> Backend:
    """The backend itself, or wrapped in a simulated device when configured."""
    if settings.sim_device_bytes <= 0:
        return backend
    return SimulatedDeviceBackend(
        backend,
        int(settings.sim_device_bytes),
        int(settings.sim_context_bytes),
        settings.sim_load_seconds,
        settings.device_index,
    )


def build_simulated(build: Callable[[Any], Backend], settings: StageSettings) -> Backend:
    """`build(settings)`, on a simulated device when configured (a picklable factory for
    worker mode: functools.partial(build_simulated, spec.build_backend))."""
    return simulate_device(build(settings), settings)
