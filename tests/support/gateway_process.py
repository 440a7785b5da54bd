"""Start the HTTP gateway as a real process (`meshpipe gateway`) and wait until it answers.

    with running_gateway("127.0.0.1:50051") as gateway:
        httpx.get(f"{gateway.url}/healthz")

The port is picked by the OS (`--port 0`) and read from the ready file; readiness is
`/healthz` answering 200. On exit the process gets SIGTERM (killed if it does not stop).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.stage_process import read_ready_file

STOP_TIMEOUT_S = 20.0


@dataclass
class GatewayHandle:
    """A running gateway process."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> int:
        """SIGTERM, wait, return the exit code (kill after STOP_TIMEOUT_S)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode)

    def log(self) -> str:
        """Everything the process wrote."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.contextmanager
def running_gateway(
    orchestrator: str, env: Mapping[str, str] | None = None, timeout_s: float = 60.0
) -> Iterator[GatewayHandle]:
    """Run `meshpipe gateway --orchestrator ADDR --port 0` until the block ends."""
    with tempfile.TemporaryDirectory(prefix="meshpipe-gateway-") as tmp:
        ready, log_path = Path(tmp) / "ready.json", Path(tmp) / "gateway.log"
        command = [sys.executable, "-m", "meshpipe.cli.main", "gateway"]
        command += ["--orchestrator", orchestrator, "--port", "0", "--ready-file", str(ready)]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
            )
        handle = GatewayHandle("", process, log_path)
        try:
            info = read_ready_file(process, ready, log_path, "gateway", timeout_s)
            handle.url = f"http://127.0.0.1:{info['http_port']}"
            _wait_alive(handle, time.monotonic() + timeout_s)
            yield handle
        finally:
            handle.stop()


def _wait_alive(handle: GatewayHandle, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{handle.url}/healthz", timeout=2).status_code == 200:
                return
        if handle.process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"gateway never answered /healthz:\n{handle.log()[-3000:]}")


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Parse a text/event-stream into messages ({"id", "event", "data"}; comments as
    {"comment": ...})."""
    message: dict[str, str] = {}
    for line in lines:
        if line == "":
            if message:
                yield message
            message = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            message[field] = message[field] + "\n" + value if field in message else value
    if message:
        yield message
