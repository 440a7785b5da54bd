"""Per-step wall-clock timings of one request (reported in StageReport.step_seconds)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class StepTimer:
    """Accumulates seconds per named step; `sync` waits for the device before reading the clock.

    Two ways to time: `with timer.step(name):` around a step, or `timer.lap(name)` after it
    (the time since the previous lap, or since the timer was made).
    """

    def __init__(self, sync: Callable[[], None] = lambda: None) -> None:
        self._sync = sync
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        """Record the time since the previous lap as step `name`."""
        self._sync()
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the body as step `name` (repeated steps add up)."""
        self._sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
