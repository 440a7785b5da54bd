"""`meshpipe arbiter`: serve the lease arbiter of one GPU, or of several (one ledger each;
settings from MESHPIPE_ARBITER_* and flags; byte sizes accept units such as 24GiB)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("arbiter", help="serve the GPU lease arbiter of one device (or several)")
    p.add_argument("--host", help="gRPC bind address")
    p.add_argument("--port", type=int, help="gRPC port (0 = free port)")
    p.add_argument("--metrics-port", type=int, help="/metrics port (0 = free, -1 = off)")
    p.add_argument("--device-index", type=int, help="GPU index")
    p.add_argument("--devices", help="GPU indices to ration, one ledger each, e.g. 0,1")
    p.add_argument("--device-kind", choices=("auto", "nvml", "simulated"), help="device truth")
    p.add_argument("--sim-capacity", help="simulated device size, e.g. 24GiB")
    p.add_argument("--budget", help="budget before the safety margin, e.g. 20GiB")
    p.add_argument("--safety-margin", help="kept free on top of the budget, e.g. 512MiB")
    p.add_argument("--ttl", type=float, help="seconds a silent holder keeps its lease")
    p.add_argument("--min-residency", type=float, help="seconds before a lease can be reclaimed")
    p.add_argument("--ready-file", help="write the bound ports as JSON here once serving")
    p.add_argument(
        "--insecure", action="store_true", help="allow a non-loopback bind without credentials"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from orchestrator.arbiter.server import serve_arbiter
    from orchestrator.arbiter.settings import ArbiterSettings

    flags = {
        "host": args.host,
        "port": args.port,
        "metrics_port": args.metrics_port,
        "device_index": args.device_index,
        "devices": _indices(args.devices) if args.devices else None,
        "device_kind": args.device_kind,
        "sim_capacity_bytes": args.sim_capacity,
        "budget_bytes": args.budget,
        "safety_margin_bytes": args.safety_margin,
        "ttl_seconds": args.ttl,
        "min_residency_seconds": args.min_residency,
        "ready_file": args.ready_file,
        "insecure": True if args.insecure else None,
    }
    settings = ArbiterSettings(**{k: v for k, v in flags.items() if v is not None})
    asyncio.run(serve_arbiter(settings))
    return 0


def _indices(text: str) -> list[int]:
    """ "0,1" -> [0, 1]."""
    return [int(part) for part in text.split(",") if part.strip()]
