"""`meshpipe` entry point: one sub-command per module in meshpipe.cli."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from meshpipe.cli import (
    arbiter_cmd,
    deploy_cmd,
    gateway_cmd,
    jobs_cmd,
    orchestrator_cmd,
    run_cmd,
    serve_cmd,
    stage_cmd,
    submit_cmd,
    weights_cmd,
)
from meshpipe.errors import ConfigurationError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meshpipe", description="Photo in, one textured 3D mesh per object out."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (
        run_cmd,
        serve_cmd,
        submit_cmd,
        jobs_cmd,
        orchestrator_cmd,
        gateway_cmd,
        stage_cmd,
        weights_cmd,
        arbiter_cmd,
        deploy_cmd,
    ):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigurationError as exc:
        print(f"meshpipe: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
