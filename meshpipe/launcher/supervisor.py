"""Supervision of local child processes: a thread that restarts a child which exited
unexpectedly, logging each restart, and gives up only on a crash loop (more than
`max_restarts` restarts within `window_seconds`). It alone decides when to give up: callers
ask `will_restart(name)` instead of treating a dead child as fatal."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from meshpipe.launcher.process import ChildProcess, LaunchError

log = logging.getLogger(__name__)


@dataclass
class Supervisor:
    """Polls `children()` every `interval` seconds; a child of `names` found dead is
    restarted with `restart(name)` (under `lock`), unless it was already restarted
    `max_restarts` times within the last `window_seconds` (then the supervisor gives up)."""

    names: Sequence[str]
    children: Callable[[], Mapping[str, ChildProcess]]
    restart: Callable[[str], None]
    lock: threading.RLock
    max_restarts: int = 3
    interval: float = 0.2
    window_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    restarts: dict[str, int] = field(default_factory=dict)
    given_up: set[str] = field(default_factory=set)
    _recent: dict[str, deque[float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the supervising thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop supervising (waits for a restart in progress)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # never let the supervisor die silently
                log.exception("supervisor round failed")

    def poll(self) -> list[str]:
        """One round: restart the dead children that may still be restarted; their names."""
        restarted: list[str] = []
        with self.lock:
            if self._stop.is_set():
                return restarted
            for name in self.names:
                child = self.children().get(name)
                if child is None or child.alive() or not self._may_restart(child):
                    continue
                self.restarts[name] = self.restarts.get(name, 0) + 1
                log.warning(
                    "%s (pid %d) exited with code %s; restarting it (%d of at most %d in %.0fs)",
                    *(name, child.pid, child.popen.returncode, len(self._recent[name])),
                    *(self.max_restarts, self.window_seconds),
                )
                try:
                    self.restart(name)
                    restarted.append(name)
                except LaunchError as exc:
                    log.error("restarting %s failed: %s", name, exc)
        return restarted

    def will_restart(self, name: str) -> bool:
        """True while a dead `name` is (or will be) restarted: supervised, not given up on,
        and the supervisor running."""
        running = self._thread is not None and not self._stop.is_set()
        return running and name in self.names and name not in self.given_up

    def _may_restart(self, child: ChildProcess) -> bool:
        if child.name in self.given_up:
            return False
        now = self.clock()
        recent = self._recent.setdefault(child.name, deque())
        while recent and now - recent[0] > self.window_seconds:
            recent.popleft()
        if len(recent) < self.max_restarts:
            recent.append(now)
            return True
        self.given_up.add(child.name)
        log.error(
            "%s exited again (code %s) after %d restarts within %.0fs: giving up; log %s",
            *(child.name, child.popen.returncode, len(recent), self.window_seconds),
            child.log_path,
        )
        return False
