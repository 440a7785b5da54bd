"""Supervision of local child processes: a thread that restarts a child which exited
unexpectedly, a bounded number of times, logging each restart."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from meshpipe.launcher.process import ChildProcess, LaunchError

log = logging.getLogger(__name__)


@dataclass
class Supervisor:
    """Polls `children()` every `interval` seconds; a child of `names` found dead is
    restarted with `restart(name)` (under `lock`), at most `max_restarts` times each."""

    names: Sequence[str]
    children: Callable[[], Mapping[str, ChildProcess]]
    restart: Callable[[str], None]
    lock: threading.RLock
    max_restarts: int = 3
    interval: float = 0.2
    restarts: dict[str, int] = field(default_factory=dict)
    given_up: set[str] = field(default_factory=set)
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
                    "%s (pid %d) exited with code %s; restarting it (%d of at most %d)",
                    *(name, child.pid, child.popen.returncode, self.restarts[name]),
                    self.max_restarts,
                )
                try:
                    self.restart(name)
                    restarted.append(name)
                except LaunchError as exc:
                    log.error("restarting %s failed: %s", name, exc)
        return restarted

    def _may_restart(self, child: ChildProcess) -> bool:
        if self.restarts.get(child.name, 0) < self.max_restarts:
            return True
        if child.name not in self.given_up:
            self.given_up.add(child.name)
            log.error(
                "%s exited again (code %s) after %d restarts: giving up; log %s",
                *(child.name, child.popen.returncode, self.max_restarts, child.log_path),
            )
        return False
