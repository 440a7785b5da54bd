"""`meshpipe stage NAME`: serve one stage (settings from MESHPIPE_<STAGE>_* and flags)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from meshpipe.catalogue import STAGES
from meshpipe.runtime.registry import load_spec
from meshpipe.runtime.server import serve_stage


def register(sub: Any) -> None:
    p = sub.add_parser("stage", help="serve one stage service")
    p.add_argument("name", choices=STAGES)
    p.add_argument("--host", help="gRPC bind address")
    p.add_argument("--port", type=int, help="gRPC port (0 = free port)")
    p.add_argument("--metrics-port", type=int, help="/metrics port (0 = free, -1 = off)")
    p.add_argument("--backend", help="backend id (default: embedded)")
    p.add_argument("--ready-file", help="write the bound ports as JSON here once serving")
    p.add_argument(
        "--insecure", action="store_true", help="allow a non-loopback bind without credentials"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    spec = load_spec(args.name)
    overrides = {
        k: v
        for k, v in {
            "host": args.host,
            "port": args.port,
            "metrics_port": args.metrics_port,
            "backend": args.backend,
            "ready_file": args.ready_file,
            "insecure": True if args.insecure else None,
        }.items()
        if v is not None
    }
    settings = spec.settings_cls(**overrides)
    asyncio.run(serve_stage(spec, settings))
    return 0
