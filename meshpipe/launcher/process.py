"""One child server process: spawn with its log in a file, wait for its ready file and its
gRPC health, stop it (SIGTERM, then SIGKILL after a grace)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

log = logging.getLogger(__name__)


class LaunchError(RuntimeError):
    """A child did not start (or died); the message is one line with the tail of its log."""


@dataclass
class ChildProcess:
    """A running child and where its log and ready file are."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    ready_file: Path

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.popen.pid

    def alive(self) -> bool:
        """True while the child runs."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 5, max_chars: int = 600) -> str:
        """Last lines of the child's log, joined into one line."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        tail = " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])
        return tail[-max_chars:] or "(empty log)"

    def exited_error(self) -> LaunchError:
        """The LaunchError describing a child that exited."""
        return LaunchError(
            f"{self.name} exited with code {self.popen.returncode}; log {self.log_path}: "
            f"{self.log_tail()}"
        )

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """The ready file's content once written; LaunchError if the child exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise self.exited_error()
            if self.ready_file.is_file():
                info: dict[str, Any] = json.loads(self.ready_file.read_text())
                return info
            time.sleep(0.05)
        raise LaunchError(
            f"{self.name} not ready after {timeout:.0f}s; log {self.log_path}: {self.log_tail()}"
        )

    def signal(self, sig: int) -> None:
        """Send a signal if the child still runs."""
        if self.alive():
            self.popen.send_signal(sig)

    def wait_exit(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the child to exit; True if it did."""
        try:
            self.popen.wait(timeout=max(timeout, 0.0))
            return True
        except subprocess.TimeoutExpired:
            return False


def spawn(
    name: str, argv: Sequence[str], run_dir: Path, env: Mapping[str, str] | None = None
) -> ChildProcess:
    """Start `argv` with stdout+stderr into `<run_dir>/<name>.log`, in its own session (so a
    terminal's Ctrl-C reaches only the launcher, which then stops the children in order)."""
    log_path = run_dir / f"{name}.log"
    ready_file = run_dir / f"{name}.ready.json"
    ready_file.unlink(missing_ok=True)
    child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log_path, "ab") as log_file:
        popen = subprocess.Popen(
            [*argv, "--ready-file", str(ready_file)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=child_env,
            start_new_session=True,
        )
    log.debug("started %s (pid %d): %s", name, popen.pid, " ".join(argv))
    return ChildProcess(name, popen, log_path, ready_file)


def wait_healthy(
    child: ChildProcess,
    address: str,
    timeout: float,
    service: str = "",
    credentials: grpc.ChannelCredentials | None = None,
) -> None:
    """Poll grpc.health.v1 at `address` (over TLS with `credentials`) until SERVING;
    LaunchError if the child dies first."""
    deadline = time.monotonic() + timeout
    channel = (
        grpc.secure_channel(address, credentials)
        if credentials is not None
        else grpc.insecure_channel(address)
    )
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if not child.alive():
                raise child.exited_error()
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise LaunchError(f"{child.name} at {address} not healthy after {timeout:.0f}s")


def stop_all(children: Sequence[ChildProcess], grace: float) -> None:
    """SIGTERM every child, wait up to `grace` seconds in total, then SIGKILL the rest."""
    for child in children:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        if not child.wait_exit(deadline - time.monotonic()):
            log.warning("%s did not stop within %.0fs; killing it", child.name, grace)
            child.signal(signal.SIGKILL)
            child.wait_exit(5.0)


def wait_http_ok(child: ChildProcess, url: str, timeout: float) -> None:
    """Poll `url` until it answers 200; LaunchError if the child dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise child.exited_error()
        try:
            with urllib.request.urlopen(url, timeout=1.0) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise LaunchError(f"{child.name} at {url} not answering after {timeout:.0f}s")
