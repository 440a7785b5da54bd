"""`meshpipe weights`: list and fetch the weights the stages need."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from meshpipe import weights


def register(sub: Any) -> None:
    p = sub.add_parser("weights", help="list or fetch model weights")
    wsub = p.add_subparsers(dest="weights_command", required=True)
    fetch = wsub.add_parser(
        "fetch-default", help="obtain u2netp.onnx for the embedded matting stage"
    )
    fetch.add_argument("--dir", default="~/.u2net", help="target folder (rembg's U2NET_HOME)")
    fetch.set_defaults(func=fetch_default)


def fetch_default(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = weights.fetch(Path(args.dir).expanduser())
    print(f"u2netp weights ready: {path}")
    return 0
