"""LocalSystem: the four stages and the orchestrator as local processes on 127.0.0.1.

Each stage binds port 0 and reports its ports in a ready file; the launcher waits for the
ready file and gRPC health, keeps every child's log in `<run_dir>/<name>.log`, and stops
everything (orchestrator first) with SIGTERM, then SIGKILL after a grace period. The
machine's cores are divided among the four stage processes' numeric thread pools.

The orchestrator's internal port is chosen before the stages start, because it serves the
embedded GPU lease arbiter (never on the client-facing port): every stage's
`ARBITER_ADDRESS` points at it (unless the environment already sets one, or
`arbiter=False`). A stage that exits unexpectedly is restarted on its port by a supervisor
thread; it gives up only after `max_restarts` restarts within `restart_window` seconds (a
crash loop), and `check()` fails only then.

    with LocalSystem(Path("runs/now"), Path("out")) as system:
        client = MeshpipeClient(system.orchestrator_address)
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import grpc

from meshpipe.catalogue import STAGES
from meshpipe.launcher.process import (
    ChildProcess,
    LaunchError,
    spawn,
    stop_all,
    wait_healthy,
    wait_http_ok,
)
from meshpipe.launcher.supervisor import Supervisor
from meshpipe.runtime.tls import CaFiles, channel_credentials

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
# Thread pools of the numeric libraries the stages use (OpenMP, OpenBLAS, MKL, numexpr, numba).
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def thread_env(threads: int, environ: Mapping[str, str]) -> dict[str, str]:
    """Thread-pool sizes for a stage process, except those the environment already sets.

    Without them, every stage process sizes its pools to all the machine's cores, and idle
    pools of one stage spin while the next stage computes (measured on 2 cores: a job's
    wall time 1.54 s -> 1.30 s with 1 thread per stage, embedded backends, coffee photo).
    """
    return {name: str(threads) for name in THREAD_VARIABLES if name not in environ}


def free_port(host: str = HOST) -> int:
    """A port that is free now (for a child that must be known before it starts)."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LocalSystem:
    """Starts and stops the five processes of a meshpipe system on this machine."""

    run_dir: Path
    output_dir: Path
    orchestrator_port: int = 0
    internal_port: int = 0
    orchestrator_args: Sequence[str] = ()
    gateway_port: int | None = None  # the HTTP gateway's port (0 = free); None = no gateway
    env: Mapping[str, str] = field(default_factory=dict)
    child_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    threads_per_stage: int = field(default_factory=lambda: max(1, (os.cpu_count() or 1) // 4))
    startup_timeout: float = 180.0
    grace: float = 15.0
    python: str = sys.executable
    arbiter: bool = True
    supervise: bool = True
    max_restarts: int = 5
    restart_window: float = 60.0
    tls: CaFiles | None = None  # serve every link over TLS (mutual TLS on internal links)
    children: dict[str, ChildProcess] = field(default_factory=dict, init=False)
    addresses: dict[str, str] = field(default_factory=dict, init=False)
    metrics_ports: dict[str, int] = field(default_factory=dict, init=False)
    supervisor: Supervisor | None = field(default=None, init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False)

    @property
    def orchestrator_address(self) -> str:
        """host:port of the orchestrator (once started)."""
        return self.addresses["orchestrator"]

    def start(self) -> LocalSystem:
        """Start the stages (in parallel), then the orchestrator; wait until all are healthy.
        On any failure everything started so far is stopped and LaunchError is raised."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        self.orchestrator_port = self.orchestrator_port or free_port()
        self.internal_port = self.internal_port or free_port()
        try:
            for stage in STAGES:
                self._spawn(stage, self._args(stage, 0))
            for stage in STAGES:
                self._await(stage)
            self._spawn("orchestrator", self._args("orchestrator", self.orchestrator_port))
            self._await("orchestrator")
            if self.gateway_port is not None:
                self._spawn("gateway", self._args("gateway", self.gateway_port))
                self._await_http("gateway")
        except BaseException:
            self.stop()
            raise
        if self.supervise:
            self.supervisor = Supervisor(
                STAGES,
                lambda: self.children,
                self._respawn,
                self._lock,
                self.max_restarts,
                window_seconds=self.restart_window,
            )
            self.supervisor.start()
        log.info("meshpipe up in %.1fs: %s", time.monotonic() - t0, self.addresses)
        return self

    @property
    def gateway_url(self) -> str:
        """http://host:port of the gateway (once started with `gateway_port`)."""
        return self.addresses["gateway"]

    def _args(self, name: str, port: int) -> list[str]:
        if name == "gateway":
            return ["gateway", "--orchestrator", self.orchestrator_address, "--port", str(port)]
        if name != "orchestrator":
            return ["stage", name, "--port", str(port), "--metrics-port", "0"]
        argv = ["orchestrator", "--port", str(port), "--metrics-port", "0"]
        argv += ["--internal-port", str(self.internal_port)]
        argv += ["--out", str(self.output_dir)]
        for stage in STAGES:
            argv += [f"--{stage}", self.addresses[stage]]
        return argv + list(self.orchestrator_args)

    def restart(self, name: str, hard: bool = False) -> None:
        """Stop one child (SIGTERM, grace; SIGKILL at once when `hard`) and start it again on
        the same port, so that clients and the orchestrator simply reconnect."""
        with self._lock:
            child = self.children[name]
            if hard:
                child.signal(signal.SIGKILL)
                child.wait_exit(10)
            else:
                stop_all([child], self.grace)
            self._respawn(name)

    def _respawn(self, name: str) -> None:
        port = int(self.addresses[name].rsplit(":", 1)[1])
        self._spawn(name, self._args(name, port))
        self._await(name)

    def _spawn(self, name: str, args: list[str]) -> None:
        argv = [self.python, "-m", "meshpipe.cli.main", *args]
        env = {**self._tls_env(name), **self.env, **self.child_env.get(name, {})}
        if name in STAGES:
            env = {**self._stage_env(name, {**os.environ, **env}), **env}
        self.children[name] = spawn(name, argv, self.run_dir, env)

    def _credentials(self) -> grpc.ChannelCredentials | None:
        if self.tls is None:
            return None
        return channel_credentials(str(self.tls.ca_cert), str(self.tls.cert), str(self.tls.key))

    def _tls_env(self, name: str) -> dict[str, str]:
        """Certificate settings of a child: TLS everywhere, mTLS on the internal links."""
        if self.tls is None:
            return {}
        prefix = f"MESHPIPE_{name.upper()}_"
        return {
            prefix + "TLS_CERT_FILE": str(self.tls.cert),
            prefix + "TLS_KEY_FILE": str(self.tls.key),
            prefix + "TLS_CA_FILE": str(self.tls.ca_cert),
            prefix + "TLS_CLIENT_AUTH": "true",
        }

    def _stage_env(self, stage: str, environ: Mapping[str, str]) -> dict[str, str]:
        """Thread pools, and the orchestrator's embedded arbiter unless set otherwise."""
        env = thread_env(self.threads_per_stage, environ)
        key = f"MESHPIPE_{stage.upper()}_ARBITER_ADDRESS"
        if self.arbiter and key not in environ:
            env[key] = f"{HOST}:{self.internal_port}"
        return env

    def _await(self, name: str) -> None:
        child = self.children[name]
        info = child.wait_ready(self.startup_timeout)
        address = f"{HOST}:{info['grpc_port']}"
        wait_healthy(child, address, self.startup_timeout, credentials=self._credentials())
        self.addresses[name] = address
        if info.get("metrics_port"):
            self.metrics_ports[name] = int(info["metrics_port"])

    def _await_http(self, name: str) -> None:
        child = self.children[name]
        info = child.wait_ready(self.startup_timeout)
        url = f"http://{HOST}:{info['http_port']}"
        wait_http_ok(child, f"{url}/healthz", self.startup_timeout)
        self.addresses[name] = url

    def check(self) -> None:
        """LaunchError if a child has exited for good: one the supervisor does not restart
        (the orchestrator, or a stage it gave up on). Taken under the supervisor's lock, so
        a stage being replaced is never mistaken for a dead one."""
        with self._lock:
            for name, child in self.children.items():
                if child.alive():
                    continue
                if self.supervisor is not None and self.supervisor.will_restart(name):
                    continue
                raise child.exited_error()

    def stop(self) -> None:
        """Stop the orchestrator, then the stages (each SIGTERM, then SIGKILL after grace)."""
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        for front in ("gateway", "orchestrator"):
            if front in self.children:
                stop_all([self.children[front]], self.grace)
        stages = [c for n, c in self.children.items() if n not in ("gateway", "orchestrator")]
        stop_all(stages, self.grace)

    def __enter__(self) -> LocalSystem:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["LaunchError", "LocalSystem"]
