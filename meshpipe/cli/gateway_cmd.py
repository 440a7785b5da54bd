"""`meshpipe gateway`: the HTTP gateway alone (settings from MESHPIPE_GATEWAY_* and flags;
flags win)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add `meshpipe gateway` to the parser."""
    p = sub.add_parser("gateway", help="serve the HTTP gateway (REST, SSE, studio page)")
    p.add_argument("--orchestrator", metavar="ADDR", help="orchestrator gRPC address host:port")
    p.add_argument("--host", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="HTTP port (default 8080, 0 = free port)")
    p.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        metavar="ORIGIN",
        help="allow browser calls from this origin (repeatable; '*' = any)",
    )
    p.add_argument("--ready-file", help="write the bound port as JSON here once serving")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the gateway until SIGTERM/SIGINT."""
    from gateway.server import serve
    from gateway.settings import GatewaySettings

    flags = {
        "orchestrator": args.orchestrator,
        "host": args.host,
        "port": args.port,
        "cors_origins": args.cors_origins,
        "ready_file": args.ready_file,
    }
    serve(GatewaySettings(**{k: v for k, v in flags.items() if v is not None}))
    return 0
