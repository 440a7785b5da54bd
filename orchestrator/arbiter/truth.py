"""What the device really uses, next to the ledger: NVML when present, else the simulated
device (configured capacity; used = what the holders themselves report)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from orchestrator.arbiter.ledger import LedgerSnapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceReading:
    """One reading of a device's memory, bytes."""

    source: str  # "nvml" | "simulated"
    total: int
    used: int


class DeviceProbe(Protocol):
    """Reads a device's memory. Blocking; the driver calls it from a worker thread."""

    source: str

    def total_bytes(self) -> int:
        """Size of the device."""

    def read(self, snapshot: LedgerSnapshot) -> DeviceReading:
        """Used and total bytes now."""


class NvmlProbe:
    """NVML's view of one GPU (pynvml, optional dependency)."""

    source = "nvml"

    def __init__(self, index: int) -> None:
        import pynvml

        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)

    def total_bytes(self) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(self._handle).total)

    def read(self, snapshot: LedgerSnapshot) -> DeviceReading:
        info = self._nvml.nvmlDeviceGetMemoryInfo(self._handle)
        return DeviceReading(self.source, int(info.total), int(info.used))


class SimulatedProbe:
    """A device that does not exist: capacity from configuration, usage as reported by the
    holders in their heartbeats (their simulated model + context bytes)."""

    source = "simulated"

    def __init__(self, capacity_bytes: int) -> None:
        if capacity_bytes <= 0:
            raise ValueError("simulated device capacity must be positive")
        self.capacity = capacity_bytes

    def total_bytes(self) -> int:
        return self.capacity

    def read(self, snapshot: LedgerSnapshot) -> DeviceReading:
        return DeviceReading(self.source, self.capacity, snapshot.reported_device_bytes)


def open_probe(kind: str, index: int, sim_capacity_bytes: int) -> DeviceProbe:
    """`nvml`, `simulated`, or `auto` (NVML when it works, else the simulated device)."""
    if kind not in ("auto", "nvml", "simulated"):
        raise ValueError(f"device kind must be auto, nvml or simulated, got {kind!r}")
    if kind in ("auto", "nvml"):
        try:
            return NvmlProbe(index)
        except Exception as exc:  # no pynvml, no driver, no such GPU
            if kind == "nvml":
                raise RuntimeError(f"NVML unavailable for device {index}: {exc}") from exc
            log.info("NVML unavailable (%s): using a simulated device", exc)
    return SimulatedProbe(sim_capacity_bytes)
