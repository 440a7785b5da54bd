"""The benchmark's sampler, a process of its own: every `--interval` seconds (50 ms) it
writes one JSON line with NVML's used memory of the device and the GPU memory of every
process on it, each process named by what it serves (a stage, a stage's model worker, the
load-per-request script), until SIGTERM.

    python -m scripts.gpu.e2e_sampler --out samples.jsonl [--interval 0.05] [--device 0]

Without NVML (a CPU machine) it writes lines with `"nvml": false` and no memory, so that
the benchmark's plumbing can be tested anywhere.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

STAGES = ("detector", "matting", "shape", "texture")


def role_of(pid: int, cache: dict[int, str]) -> str:
    """'detector' ... 'texture' for a stage process or its worker, 'load-per-request' for
    the baseline script, else the process name."""
    if pid in cache:
        return cache[pid]
    import psutil

    role = "other"
    try:
        proc: Any = psutil.Process(pid)
        while proc is not None and role == "other":
            line = " ".join(proc.cmdline())
            role = _role_from_cmdline(line) or "other"
            proc = proc.parent()
    except psutil.Error:
        role = "gone"
    cache[pid] = role
    return role


def _role_from_cmdline(line: str) -> str | None:
    if "e2e_baseline" in line:
        return "load-per-request"
    for stage in STAGES:
        if f"stage {stage}" in line:
            return stage
    return None


class Nvml:
    """NVML reads of one device (None when NVML is not available)."""

    def __init__(self, index: int) -> None:
        import pynvml

        pynvml.nvmlInit()
        self.nvml = pynvml
        self.handle = pynvml.nvmlDeviceGetHandleByIndex(index)

    def read(self) -> tuple[int, dict[int, int]]:
        used = int(self.nvml.nvmlDeviceGetMemoryInfo(self.handle).used)
        procs = self.nvml.nvmlDeviceGetComputeRunningProcesses(self.handle)
        return used, {int(p.pid): int(p.usedGpuMemory or 0) for p in procs}


def open_nvml(index: int) -> Nvml | None:
    try:
        return Nvml(index)
    except Exception:  # no NVML, no driver: the sampler still runs (CPU tests)
        return None


def sample(nvml: Nvml | None, cache: dict[int, str]) -> dict[str, Any]:
    line: dict[str, Any] = {"t": time.time(), "nvml": nvml is not None}
    if nvml is None:
        return line
    used, procs = nvml.read()
    by_role: dict[str, int] = {}
    for pid, nbytes in procs.items():
        role = role_of(pid, cache)
        by_role[role] = by_role.get(role, 0) + nbytes
    line.update(used=used, procs={str(p): b for p, b in procs.items()}, roles=by_role)
    return line


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--device", type=int, default=0)
    args = parser.parse_args(argv)
    stop = False

    def on_term(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    nvml = open_nvml(args.device)
    cache: dict[int, str] = {}
    with Path(args.out).open("w") as out:
        while not stop:
            t0 = time.monotonic()
            out.write(json.dumps(sample(nvml, cache)) + "\n")
            out.flush()
            time.sleep(max(0.0, args.interval - (time.monotonic() - t0)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
