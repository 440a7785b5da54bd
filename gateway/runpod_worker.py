"""A RunPod serverless worker over the serverless contract (gateway.generate):

    python -m gateway.runpod_worker                    # on RunPod (the SDK talks to RunPod)
    python -m gateway.runpod_worker --rp_serve_api     # the SDK's local API server (/runsync)
    python -m gateway.runpod_worker --start-system ... # first start the stages and the
                                                       # orchestrator here (the all-in-one image)

The handler validates `job["input"]`, runs one job on the orchestrator at
MESHPIPE_GATEWAY_ORCHESTRATOR and returns the contract's output; wrong input or a failed job
is `{"error": ...}`, never an exception. Progress goes to RunPod with
`runpod.serverless.progress_update` (when running on RunPod).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway.client import Orchestrator
from gateway.generate import generate, parse_input
from gateway.problems import ApiProblem
from gateway.settings import GatewaySettings
from meshpipe.v1 import orchestrator_pb2 as pb

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
Progress = Callable[[dict[str, Any], Any], None]
STAGE_NAMES = {1: "detector", 2: "matting", 3: "shape", 4: "texture"}


def progress_message(event: pb.JobEvent) -> str | None:
    """A short line for RunPod's job status, or None for events not worth a round trip."""
    kind = event.WhichOneof("event")
    if kind == "detections":
        return f"detected {len(event.detections.objects)} object(s)"
    if kind == "progress" and event.progress.finished:
        p = event.progress
        return (
            f"object {p.object_index}: {STAGE_NAMES.get(p.stage, p.stage)} done in {p.seconds:.1f}s"
        )
    if kind == "result":
        return f"object {event.result.object_index} ({event.result.label}) done"
    if kind == "error":
        return f"object {event.error.object_index} failed: {event.error.code} {event.error.message}"
    if kind == "skipped":
        return f"object {event.skipped.object_index} skipped: {event.skipped.reason}"
    return None


def make_handler(settings: GatewaySettings, progress: Progress | None) -> Handler:
    """The RunPod handler: `{"input": {...}}` job in, the contract's output (or an error)."""

    async def handler(job: dict[str, Any]) -> dict[str, Any]:
        def on_event(event: pb.JobEvent) -> None:
            message = progress_message(event)
            if message and progress is not None:
                progress(job, message)

        try:
            spec = parse_input(job.get("input"))
            client = Orchestrator(
                settings.orchestrator,
                settings.rpc_timeout_seconds,
                settings.max_message_bytes,
                settings.tls_ca_file,
            )
            try:
                return await generate(
                    client,
                    spec,
                    [("x-request-id", str(job.get("id", "")))],
                    max_bytes=settings.max_upload_bytes,
                    deployment_profile=settings.memory_profile,
                    on_event=on_event,
                )
            finally:
                await client.close()
        except ApiProblem as problem:
            return {"error": f"{problem.status}: {problem.detail}"}

    return handler


def runpod_progress() -> Progress | None:
    """The SDK's progress_update when this runs on RunPod (it posts to RunPod's job API,
    which the local API server does not have)."""
    if not os.environ.get("RUNPOD_WEBHOOK_POST_OUTPUT"):
        return None
    from runpod.serverless import progress_update

    return progress_update


@contextmanager
def local_system(settings: GatewaySettings, root: Path) -> Iterator[str]:
    """The stages and the orchestrator as local processes (one GPU per worker); yields the
    orchestrator's address. The stages run the deployment's memory profile."""
    from meshpipe.catalogue import STAGES
    from meshpipe.launcher.local import LocalSystem

    env = {
        f"MESHPIPE_{stage.upper()}_MEMORY_PROFILE": str(settings.memory_profile)
        for stage in STAGES
        if f"MESHPIPE_{stage.upper()}_MEMORY_PROFILE" not in os.environ
    }
    with LocalSystem(root / "runs", root / "out", env=env, startup_timeout=600) as system:
        yield system.orchestrator_address


def main(argv: list[str] | None = None) -> int:
    """Parse our flags, leave the SDK's (`--rp_*`) in sys.argv, start the worker."""
    parser = argparse.ArgumentParser(prog="gateway.runpod_worker", add_help=False)
    parser.add_argument("--start-system", action="store_true")
    parser.add_argument("--root", type=Path, default=Path("/tmp/meshpipe"))
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    sys.argv = [sys.argv[0], *rest]
    logging.basicConfig(level=logging.INFO)
    import runpod

    settings = GatewaySettings()
    if not args.start_system:
        runpod.serverless.start({"handler": make_handler(settings, runpod_progress())})
        return 0
    with local_system(settings, args.root) as address:
        settings = settings.model_copy(update={"orchestrator": address})
        runpod.serverless.start({"handler": make_handler(settings, runpod_progress())})
    return 0


if __name__ == "__main__":
    sys.exit(main())
