"""Best-effort reads of device memory that work with or without a GPU (no import-time work)."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def nvml_process_bytes(pid: int | None = None) -> int:
    """GPU memory NVML attributes to a process (0 without NVML or a GPU)."""
    try:
        import pynvml
    except ImportError:
        return 0
    pid = os.getpid() if pid is None else pid
    try:
        pynvml.nvmlInit()
        total = 0
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            for proc in pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if proc.pid == pid and proc.usedGpuMemory:
                    total += int(proc.usedGpuMemory)
        return total
    except Exception:  # NVML missing, no driver, permission: the reading is optional
        log.debug("NVML read failed", exc_info=True)
        return 0
