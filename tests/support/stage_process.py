"""Start a stage as a real process (`meshpipe stage NAME`) and wait until it serves.

    with running_stage("detector") as stage:
        channel = grpc.insecure_channel(stage.grpc_address)
        ...
        assert stage.stop() == 0   # SIGTERM, graceful drain, exit code

Ports are picked by the OS (`--port 0 --metrics-port 0`) and read from the ready file;
readiness is confirmed with grpc.health.v1. On exit the process is stopped with SIGTERM
(killed if it does not stop in time). Its stderr goes to a log file whose tail is shown
when it fails to start.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass
class StageHandle:
    """A running stage process."""

    grpc_address: str  # "127.0.0.1:PORT"
    metrics_url: str | None  # "http://127.0.0.1:PORT/metrics", None when metrics are off
    pid: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, wait for the exit and return the exit code (kill after `timeout`)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
                raise AssertionError(
                    f"stage pid {self.pid} ignored SIGTERM for {timeout}s; killed\n{self.log_tail()}"
                ) from None
        return int(self.process.returncode)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the process wrote (stdout and stderr)."""
        return _tail(self.log_path, lines)


@contextlib.contextmanager
def running_stage(
    name: str, env: Mapping[str, str] | None = None, extra_args: Sequence[str] = ()
) -> Iterator[StageHandle]:
    """Run `meshpipe stage NAME` on free ports until the block ends."""
    with tempfile.TemporaryDirectory(prefix=f"meshpipe-{name}-") as tmp:
        ready = Path(tmp) / "ready.json"
        log_path = Path(tmp) / "stage.log"
        command = [
            sys.executable,
            "-m",
            "meshpipe.cli.main",
            "stage",
            name,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--metrics-port",
            "0",
            "--ready-file",
            str(ready),
            *extra_args,
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
            )
        handle: StageHandle | None = None
        try:
            handle = _wait_until_serving(process, ready, log_path)
            yield handle
        finally:
            if handle is not None:
                handle.stop()
            elif process.poll() is None:
                process.kill()
                process.wait(5)


def read_ready_file(
    process: subprocess.Popen[bytes],
    ready: Path,
    log_path: Path,
    what: str = "stage",
    timeout_s: float = START_TIMEOUT_S,
) -> dict[str, Any]:
    """The ports a meshpipe process writes to its --ready-file once serving; an
    AssertionError with its log's tail if it exits first or takes over `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not ready.exists():
        if process.poll() is not None:
            raise AssertionError(
                f"{what} exited with {process.returncode} before serving:\n{_tail(log_path)}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not ready after {timeout_s}s:\n{_tail(log_path)}")
        time.sleep(0.05)
    info: dict[str, Any] = json.loads(ready.read_text())
    return info


def _wait_until_serving(
    process: subprocess.Popen[bytes], ready: Path, log_path: Path
) -> StageHandle:
    deadline = time.monotonic() + START_TIMEOUT_S
    info = read_ready_file(process, ready, log_path)
    metrics_port = info.get("metrics_port")
    handle = StageHandle(
        grpc_address=f"127.0.0.1:{info['grpc_port']}",
        metrics_url=f"http://127.0.0.1:{metrics_port}/metrics" if metrics_port else None,
        pid=int(info["pid"]),
        process=process,
        log_path=log_path,
    )
    _wait_for_health(handle, deadline)
    return handle


def _wait_for_health(handle: StageHandle, deadline: float) -> None:
    with grpc.insecure_channel(handle.grpc_address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline or handle.process.poll() is not None:
                raise AssertionError(f"stage never reported SERVING:\n{handle.log_tail()}")
            time.sleep(0.05)


def _tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])
