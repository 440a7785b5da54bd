"""`meshpipe weights`: what each stage's weights are and where, and fetching them.

* `fetch-default`: u2netp.onnx for the embedded matting default (works without a hub).
* `list`: per stage, the production backend's weights folder and what is missing, plus
  the embedded default's file; settings come from the usual MESHPIPE_<STAGE>_* variables.
* `pull`: download what is missing from the Hugging Face hub, where it is reachable.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from meshpipe import weights
from meshpipe.catalogue import STAGES
from meshpipe.runtime.registry import load_spec


def register(sub: Any) -> None:
    p = sub.add_parser("weights", help="list or fetch model weights")
    wsub = p.add_subparsers(dest="weights_command", required=True)
    fetch = wsub.add_parser(
        "fetch-default", help="obtain u2netp.onnx for the embedded matting stage"
    )
    fetch.add_argument("--dir", default="~/.u2net", help="target folder (rembg's U2NET_HOME)")
    fetch.set_defaults(func=fetch_default)
    listing = wsub.add_parser("list", help="show which weights are present per stage")
    listing.add_argument("stages", nargs="*", type=_stage, help="stages (default: all)")
    listing.set_defaults(func=list_weights)
    pull = wsub.add_parser("pull", help="download missing production weights from the hub")
    pull.add_argument("stages", nargs="*", type=_stage, help="stages (default: all)")
    pull.add_argument("--timeout", type=float, default=10.0, help="hub request timeout, s")
    pull.set_defaults(func=pull_weights)


def _stage(name: str) -> str:
    if name not in STAGES:
        raise argparse.ArgumentTypeError(
            f"unknown stage {name!r} (choose from {', '.join(STAGES)})"
        )
    return name


def fetch_default(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = weights.fetch(Path(args.dir).expanduser())
    print(f"u2netp weights ready: {path}")
    return 0


def _settings(stage: str) -> Any:
    """The stage's settings as its process would build them (MESHPIPE_<STAGE>_*)."""
    settings_cls: Any = load_spec(stage).settings_cls
    return settings_cls()


def _specs(stages: list[str]) -> list[weights.WeightsSpec]:
    found: list[weights.WeightsSpec] = []
    for stage in stages or list(STAGES):
        settings = _settings(stage)
        found += weights.production_specs(stage, settings)
    return found


def list_weights(args: argparse.Namespace) -> int:
    rows = [("STAGE", "BACKEND", "MODEL", "STATUS", "FOLDER")]
    if not args.stages or "matting" in args.stages:
        u2net_dir = Path(_settings("matting").weights_dir).expanduser()
        ok = weights.is_present(u2net_dir)
        rows.append(
            ("matting", "embedded", "u2netp", "present" if ok else "missing", str(u2net_dir))
        )
    for spec in _specs(args.stages):
        status = weights.locate(spec)
        state = (
            f"present ({status.size_bytes() / 2**30:.2f} GiB)"
            if status.present
            else f"missing {len(status.missing)}: {', '.join(status.missing[:3])}"
        )
        rows.append((spec.stage, spec.backend, spec.repo_id, state, str(status.folder)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def pull_weights(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    failed = 0
    for spec in _specs(args.stages):
        try:
            folder = weights.pull(spec, timeout=args.timeout)
        except weights.WeightsUnavailable as exc:
            failed += 1
            print(f"{spec.stage}/{spec.backend}: {exc}")
        else:
            print(f"{spec.stage}/{spec.backend}: {spec.repo_id} ready in {folder}")
    return 1 if failed else 0
