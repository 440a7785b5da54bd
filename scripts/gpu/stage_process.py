"""One stage service as a real process, for the GPU benchmark: start it with
`meshpipe stage NAME --port 0 --metrics-port 0 --ready-file F`, talk to it over gRPC,
read its /metrics and the GPU memory NVML attributes to it, stop it with SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from meshpipe.runtime.gpu import nvml_process_bytes
from meshpipe.v1 import stage_pb2_grpc

GIB = float(1 << 30)
_INFER_STUBS = {
    "detector": stage_pb2_grpc.DetectorStub,
    "matting": stage_pb2_grpc.MattingStub,
    "shape": stage_pb2_grpc.ShapeStub,
}


class StageProcess:
    """`with StageProcess("shape", env, log) as stage:` -> stage.admin / stage.infer stubs."""

    def __init__(self, stage: str, env: dict[str, str], log_path: Path, ready_timeout: float = 600):
        self.stage = stage
        self.env = env
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: grpc.Channel | None = None
        self.metrics_port = 0

    def __enter__(self) -> StageProcess:
        ready = Path(tempfile.mkdtemp()) / "ready.json"
        cmd = [
            sys.executable,
            "-m",
            "meshpipe.cli.main",
            "stage",
            self.stage,
            "--port",
            "0",
            "--metrics-port",
            "0",
            "--ready-file",
            str(ready),
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        info = self._wait_ready(ready)
        self.metrics_port = int(info["metrics_port"])
        options = [("grpc.max_receive_message_length", 256 << 20)]
        self.channel = grpc.insecure_channel(f"127.0.0.1:{info['grpc_port']}", options=options)
        self.admin = stage_pb2_grpc.StageAdminStub(self.channel)
        self.infer = _INFER_STUBS[self.stage](self.channel)
        return self

    def _wait_ready(self, ready: Path) -> dict[str, Any]:
        deadline = time.monotonic() + self.ready_timeout
        assert self.proc is not None
        while time.monotonic() < deadline:
            if ready.is_file() and ready.stat().st_size:
                info: dict[str, Any] = json.loads(ready.read_text())
                return info
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.stage} exited with {self.proc.returncode}: {self.log_tail()}"
                )
            time.sleep(0.2)
        raise TimeoutError(f"{self.stage} was not ready in {self.ready_timeout:.0f} s")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.channel is not None:
            self.channel.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def nvml_gib(self) -> float:
        """GPU memory NVML attributes to the stage process (0 where NVML cannot say)."""
        return nvml_process_bytes(self.pid) / GIB

    def metrics(self) -> dict[str, float]:
        """The stage's meshpipe_* gauges from /metrics (histograms and counters left out)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as reply:
            text = reply.read().decode()
        wanted = (
            "footprint_bytes",
            "peak_device_bytes",
            "torch_allocated_bytes",
            "torch_reserved_bytes",
            "nvml_process_bytes",
        )
        found: dict[str, float] = {}
        for line in text.splitlines():
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name.startswith("meshpipe_stage_") and name.endswith(wanted):
                found[name.removeprefix("meshpipe_stage_")] = float(line.rsplit(" ", 1)[1])
        return found

    def log_tail(self, lines: int = 15) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def stage_env(stage: str, values: dict[str, str]) -> dict[str, str]:
    """The process environment with MESHPIPE_<STAGE>_<KEY> for every value."""
    env = dict(os.environ)
    prefix = f"MESHPIPE_{stage.upper()}_"
    env.update({prefix + key.upper(): value for key, value in values.items()})
    return env
