"""Run a meshpipe server process (stage, arbiter, orchestrator) on free ports for a test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.stage_process import read_ready_file

START_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Served:
    """Where a started process listens."""

    grpc_address: str
    metrics_url: str


@contextlib.contextmanager
def serving(command: Sequence[str], env: dict[str, str] | None = None) -> Iterator[Served]:
    """`meshpipe COMMAND... --port 0 --metrics-port 0 --ready-file F`, stopped with SIGTERM."""
    with tempfile.TemporaryDirectory(prefix="meshpipe-deploy-test-") as tmp:
        ready, log_path = Path(tmp) / "ready.json", Path(tmp) / "process.log"
        argv = [sys.executable, "-m", "meshpipe.cli.main", *command, "--port", "0",
                "--metrics-port", "0", "--ready-file", str(ready)]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            info = read_ready_file(process, ready, log_path, str(command), START_TIMEOUT_S)
            yield Served(
                f"127.0.0.1:{info['grpc_port']}", f"http://127.0.0.1:{info['metrics_port']}/metrics"
            )
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
