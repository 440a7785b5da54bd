"""`meshpipe orchestrator`: serve the orchestrator (settings from MESHPIPE_ORCHESTRATOR_* and
flags; flags win)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from meshpipe.catalogue import STAGES


def register(sub: Any) -> None:
    """Add `meshpipe orchestrator` to the parser."""
    p = sub.add_parser("orchestrator", help="serve the orchestrator (jobs API)")
    for stage in STAGES:
        p.add_argument(f"--{stage}", metavar="ADDR", help=f"{stage} stage address host:port")
    p.add_argument(
        "--arbiter",
        metavar="ADDR",
        help="host:port of a standalone `meshpipe arbiter` to use instead of the embedded one",
    )
    p.add_argument("--host", help="gRPC bind address")
    p.add_argument("--port", type=int, help="gRPC port (default 50051, 0 = free port)")
    p.add_argument("--metrics-port", type=int, help="/metrics port (0 = free, -1 = off)")
    p.add_argument(
        "--internal-port", type=int, help="embedded arbiter's internal port (default 50052)"
    )
    p.add_argument("--tokens-file", help="client bearer tokens, `principal:token` per line")
    p.add_argument("--tls-cert", help="PEM certificate of the servers (enables TLS)")
    p.add_argument("--tls-key", help="PEM key of --tls-cert")
    p.add_argument("--tls-ca", help="PEM CA of the internal services (and mTLS clients)")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback bind without authentication",
    )
    p.add_argument("--out", help="output folder: per-job artifacts and the job store")
    p.add_argument("--ready-file", help="write the bound ports as JSON here once serving")
    p.add_argument(
        "--no-resume", action="store_true", help="do not resume unfinished jobs at start-up"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the orchestrator until SIGTERM/SIGINT."""
    from orchestrator.server import serve
    from orchestrator.settings import OrchestratorSettings

    flags = {
        "host": args.host,
        "port": args.port,
        "metrics_port": args.metrics_port,
        "output_dir": args.out,
        "ready_file": args.ready_file,
        "resume": False if args.no_resume else None,
        "arbiter_address": args.arbiter,
        "internal_port": args.internal_port,
        "tokens_file": args.tokens_file,
        "tls_cert_file": args.tls_cert,
        "tls_key_file": args.tls_key,
        "tls_ca_file": args.tls_ca,
        "insecure": True if args.insecure else None,
    }
    settings = OrchestratorSettings(**{k: v for k, v in flags.items() if v is not None})
    for stage in STAGES:
        address = getattr(args, stage)
        if address:
            endpoint = settings.endpoint(stage).model_copy(update={"address": address})
            setattr(settings, stage, endpoint)
    asyncio.run(serve(settings))
    return 0
