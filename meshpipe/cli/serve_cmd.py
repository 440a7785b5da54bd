"""`meshpipe serve`: every process, long-running; Ctrl-C (or SIGTERM) stops them all."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from meshpipe.cli.run_cmd import default_run_dir, interrupt_on_signals
from meshpipe.cli.submit_cmd import fail
from meshpipe.launcher.local import LaunchError, LocalSystem
from meshpipe.runtime.tls import throwaway_ca


def register(sub: Any) -> None:
    """Add `meshpipe serve` to the parser."""
    p = sub.add_parser("serve", help="start every service locally and keep them running")
    p.add_argument("--port", type=int, default=50051, help="orchestrator gRPC port (0 = free)")
    p.add_argument(
        "--http-port",
        type=int,
        default=8080,
        help="HTTP gateway port (REST, SSE, studio page; 0 = free, -1 = no gateway)",
    )
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder (default ./out)")
    p.add_argument(
        "--run-dir", type=Path, help="folder for the processes' logs (default runs/<time>)"
    )
    p.add_argument(
        "--tls",
        action="store_true",
        help="serve every link over TLS with a throwaway local CA (written to <run-dir>/tls; "
        "mutual TLS between the processes); for trying TLS, not for production",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start everything and keep it running until interrupted."""
    interrupt_on_signals()
    run_dir = args.run_dir or default_run_dir()
    tls = throwaway_ca(run_dir / "tls") if args.tls else None
    gateway_port = None if args.http_port < 0 else args.http_port
    system = LocalSystem(
        run_dir, args.out, orchestrator_port=args.port, tls=tls, gateway_port=gateway_port
    )
    print(f"starting meshpipe (logs in {run_dir}) ...", flush=True)
    if tls is not None:
        print(f"TLS: clients trust {tls.ca_cert} (e.g. meshpipe submit --tls-ca {tls.ca_cert})")
    try:
        with system:
            print(f"orchestrator: {system.orchestrator_address}")
            if gateway_port is not None:
                print(f"http: {system.gateway_url}  (open it in a browser; API docs at /docs)")
            for name, address in system.addresses.items():
                if name == "gateway":
                    continue
                metrics = system.metrics_ports.get(name)
                print(f"  {name:12} grpc {address}  metrics http://127.0.0.1:{metrics}/metrics")
            print("serving; Ctrl-C stops everything", flush=True)
            while True:
                system.check()
                time.sleep(1.0)
    except LaunchError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0
