"""`meshpipe run IMAGE`: start every process locally, run one job, print where the results
are, stop everything. Exit 0 when every object succeeded, non-zero with a one-line reason."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from meshpipe.cli.submit_cmd import (
    EventPrinter,
    add_job_arguments,
    fail,
    options_from_args,
    read_image,
    report_done,
)
from meshpipe.client import MeshpipeClient
from meshpipe.errors import MeshpipeError
from meshpipe.launcher.local import LaunchError, LocalSystem


def register(sub: Any) -> None:
    """Add `meshpipe run` to the parser."""
    p = sub.add_parser("run", help="run the whole pipeline on one photo (starts everything)")
    p.add_argument("image", type=Path, help="photo (PNG, JPEG or WebP)")
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder (default ./out)")
    p.add_argument(
        "--run-dir", type=Path, help="folder for the processes' logs (default runs/<time>)"
    )
    add_job_arguments(p)
    p.set_defaults(func=run)


def default_run_dir() -> Path:
    """runs/<local time>: where a run's process logs go by default."""
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def interrupt_on_signals() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt, so that the children are stopped in order
    (even when SIGINT was inherited as ignored, e.g. from a background shell job)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)


def run(args: argparse.Namespace) -> int:
    """Run one photo through a freshly started local system."""
    try:
        image = read_image(args.image)
    except MeshpipeError as exc:
        return fail(exc)
    run_dir = args.run_dir or default_run_dir()
    print(f"starting meshpipe (logs in {run_dir}) ...", flush=True)
    interrupt_on_signals()
    try:
        with LocalSystem(run_dir, args.out) as system:
            return _submit(system, image, args)
    except LaunchError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        print("meshpipe: interrupted; everything stopped", file=sys.stderr)
        return 130


def _submit(system: LocalSystem, image: bytes, args: argparse.Namespace) -> int:
    printer = EventPrinter()
    with MeshpipeClient(system.orchestrator_address, reattach_seconds=0) as client:
        job_id = ""

        def on_event(event: Any) -> None:
            nonlocal job_id
            job_id = event.job_id
            printer(event)

        try:
            done = client.submit(
                image, args.prompt, options_from_args(args), args.image.name, on_event
            )
        except MeshpipeError as exc:
            return fail(exc)
        except KeyboardInterrupt:
            if job_id:
                client.cancel(job_id)
            raise
    return report_done(done, (args.out / done.job_id).resolve())
