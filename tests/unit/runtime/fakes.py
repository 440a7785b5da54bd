"""A controllable fake backend for runtime tests."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from meshpipe.runtime.backend import Backend, BackendInfo, DeviceMemory


class FakeBackend(Backend):
    """Counts lifecycle calls; load/infer durations and failures are configurable."""

    def __init__(self, load_seconds: float = 0.0, infer_seconds: float = 0.0) -> None:
        self.load_seconds = load_seconds
        self.infer_seconds = infer_seconds
        self.calls: list[str] = []
        self.fail_next_load = False
        self.peak = 0
        self.loaded = False
        self._lock = threading.Lock()
        self.concurrent = 0
        self.max_concurrent = 0

    @property
    def info(self) -> BackendInfo:
        return BackendInfo("fake", "none", "cpu")

    @property
    def footprint_bytes(self) -> int:
        return 1000

    def load(self) -> None:
        self.calls.append("load")
        time.sleep(self.load_seconds)
        if self.fail_next_load:
            self.fail_next_load = False
            raise RuntimeError("disk on fire")
        self.loaded = True

    def warmup(self) -> None:
        self.calls.append("warmup")

    def park(self) -> None:
        self.calls.append("park")

    def wake(self) -> None:
        self.calls.append("wake")

    def unload(self) -> None:
        self.calls.append("unload")
        self.loaded = False

    def memory(self) -> DeviceMemory:
        return DeviceMemory(allocated=10, reserved=20, peak_reserved=self.peak)

    def infer(self, x: int) -> int:
        assert self.loaded, "inference on an unloaded model"
        with self._lock:
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
        time.sleep(self.infer_seconds)
        with self._lock:
            self.concurrent -= 1
        return x * 2


class PidFakeBackend(FakeBackend):
    """A FakeBackend that can say which process it runs in and crash it (worker mode)."""

    def pid(self) -> int:
        return os.getpid()

    def crash(self) -> None:
        os._exit(3)

    def fail(self) -> None:
        raise ValueError("bad request")

    def say(self, text: str) -> None:
        """Log one line (at WARNING, above any configured level)."""
        logging.getLogger(__name__).warning("fake backend says %s", text)


def build_pid_fake(settings: Any) -> PidFakeBackend:
    """A picklable factory for WorkerBackend tests."""
    return PidFakeBackend(load_seconds=getattr(settings, "sim_load_seconds", 0.0))
