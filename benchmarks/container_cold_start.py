"""A matting container's cold start: what every new pod pays under scale-to-zero.

For each run, on a real Docker engine with the images `make images` (or CI's container
proof) built: `docker run` the matting image with the u2netp weights mounted, then time

* start -> SERVING: container created and started until grpc.health.v1 answers SERVING on
  the published port (interpreter start, imports, server up; no model yet: the stage loads
  lazily);
* first Matte: the first request on a crop of the coffee photo (lazy model load + warm-up
  + the request);
* warm Matte: the median of three more requests.

    .venv/bin/python benchmarks/container_cold_start.py [--image meshpipe-matting:dev]
        [--weights ~/.u2net] [--runs 3]

Needs the `deploy` extra (docker SDK) and a running engine. Prints a table and saves it as
benchmarks/results/container_cold_start.{md,json}.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import docker
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image

from meshpipe.v1 import stage_pb2, stage_pb2_grpc

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]
GRPC_PORT = "50062/tcp"


@dataclass(frozen=True)
class Run:
    """One container's timings, seconds."""

    start_to_serving: float
    first_matte: float
    warm_matte: float


def crop_png() -> bytes:
    """The coffee photo's centre as PNG (what the orchestrator sends matting)."""
    img = Image.open(ROOT / "examples" / "coffee.jpg").convert("RGB")
    w, h = img.size
    buf = io.BytesIO()
    img.crop((w // 4, h // 8, 3 * w // 4, 7 * h // 8)).save(buf, "PNG")
    return buf.getvalue()


def wait_serving(address: str, deadline: float) -> None:
    """Poll grpc.health.v1 until SERVING (TimeoutError at the deadline)."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.05)
    raise TimeoutError(f"{address} not SERVING in time")


def timed_matte(address: str, crop: bytes) -> float:
    """Seconds of one Matte call."""
    with grpc.insecure_channel(address) as channel:
        t0 = time.monotonic()
        stage_pb2_grpc.MattingStub(channel).Matte(stage_pb2.MatteRequest(image=crop), timeout=600)
        return time.monotonic() - t0


def published_address(container: Any) -> str:
    """127.0.0.1:PORT of the container's gRPC port, once Docker has published it."""
    for _ in range(100):
        container.reload()
        bound = (container.attrs["NetworkSettings"]["Ports"] or {}).get(GRPC_PORT)
        if bound:
            return f"127.0.0.1:{bound[0]['HostPort']}"
        time.sleep(0.05)
    raise TimeoutError("the gRPC port was not published")


def one_run(client: Any, image: str, weights: Path, crop: bytes) -> Run:
    t0 = time.monotonic()
    container = client.containers.run(
        image,
        detach=True,
        ports={GRPC_PORT: ("127.0.0.1", None)},
        volumes={str(weights): {"bind": "/weights", "mode": "ro"}},
        # published on loopback only: say so explicitly (docs/security.md)
        environment={"MESHPIPE_MATTING_INSECURE": "true"},
    )
    try:
        address = published_address(container)
        wait_serving(address, t0 + 300)
        serving = time.monotonic() - t0
        first = timed_matte(address, crop)
        warm = statistics.median(timed_matte(address, crop) for _ in range(3))
        return Run(serving, first, warm)
    finally:
        container.remove(force=True)


def table(image: str, runs: list[Run]) -> str:
    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"

    lines = [
        f"# Matting container cold start ({image}, embedded u2netp, CPU)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Docker engine on this host; "
        f"{len(runs)} runs, median (min, max). Produced by benchmarks/container_cold_start.py.",
        "",
        "| docker run -> SERVING | first Matte (lazy load + warm-up + request) | warm Matte |",
        "|---|---|---|",
        f"| {cell([r.start_to_serving for r in runs])} | {cell([r.first_matte for r in runs])} "
        f"| {cell([r.warm_matte for r in runs])} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="meshpipe-matting:dev")
    parser.add_argument("--weights", type=Path, default=Path.home() / ".u2net")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--name", default="container_cold_start")
    args = parser.parse_args()
    client = docker.from_env()
    crop = crop_png()
    runs = [one_run(client, args.image, args.weights.resolve(), crop) for _ in range(args.runs)]
    text = table(args.image, runs)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text(text)
    (RESULTS / f"{args.name}.json").write_text(json.dumps([asdict(r) for r in runs], indent=2))


if __name__ == "__main__":
    main()
