"""First job on a fresh install, and a matting process's cold start, on an empty numba cache.

For each code tree given (default: this checkout), with an empty NUMBA_CACHE_DIR (what a
fresh install or a new container without a baked cache sees):

* cold start: a lone `meshpipe stage matting` process from spawn to its first Matte answer
  (ready file + health + lazy model load + warm-up + the request): what every new matting
  pod pays under scale-to-zero;
* first job: `LocalSystem` (five processes) started, then two jobs on the coffee photo; the
  first pays every stage's lazy load, the second is a warm job.

Point `--code` at another checkout (e.g. the commit before the change) to measure "before":
its processes run from that tree (working directory and PYTHONPATH), with this venv.

    .venv/bin/python benchmarks/first_job.py [--code /path/to/old/checkout --label before] ...
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.launcher.local import LocalSystem
from meshpipe.launcher.process import spawn, stop_all, wait_healthy
from meshpipe.v1 import orchestrator_pb2 as pb
from meshpipe.v1 import stage_pb2, stage_pb2_grpc

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    label: str
    matting_cold_start_s: float
    system_start_s: float
    first_job_s: float
    first_job_matting_s: float
    second_job_s: float
    second_job_matting_s: float


def coffee_jpeg() -> bytes:
    import io

    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def crop_png() -> bytes:
    import io

    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).crop((28, 0, 527, 400)).save(buf, format="PNG")
    return buf.getvalue()


def cold_start(env: dict[str, str], work: Path) -> float:
    """Spawn a matting stage and time until its first Matte answer."""
    argv = [sys.executable, "-m", "meshpipe.cli.main", "stage", "matting", "--port", "0"]
    argv += ["--metrics-port", "-1"]
    t0 = time.monotonic()
    child = spawn("matting-cold", argv, work, env)
    try:
        info = child.wait_ready(600)
        address = f"127.0.0.1:{info['grpc_port']}"
        wait_healthy(child, address, 600)
        with grpc.insecure_channel(address) as channel:
            stub = stage_pb2_grpc.MattingStub(channel)
            stub.Matte(stage_pb2.MatteRequest(image=crop_png()), timeout=600)
        return time.monotonic() - t0
    finally:
        stop_all([child], 10)


def matting_seconds(events: list[pb.JobEvent]) -> float:
    return sum(
        s.seconds
        for e in events
        if e.HasField("result")
        for s in e.result.stages
        if s.stage == pb.STAGE_MATTING
    )


def job(client: MeshpipeClient) -> tuple[float, float]:
    events: list[pb.JobEvent] = []
    t0 = time.monotonic()
    client.submit(coffee_jpeg(), on_event=events.append, options=job_options(seed=1))
    assert events[-1].done.summary.state == pb.JOB_STATE_SUCCEEDED, events[-1]
    return time.monotonic() - t0, matting_seconds(events)


def measure(label: str, code: Path) -> Row:
    # `python -m` puts the working directory first on sys.path: run the children from `code`
    os.chdir(code)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {"PYTHONPATH": str(code), "NUMBA_CACHE_DIR": str(work / "numba-cold")}
        cold = cold_start(env, work)
        env["NUMBA_CACHE_DIR"] = str(work / "numba-system")  # empty again
        t0 = time.monotonic()
        with LocalSystem(work / "run", work / "out", env=env, startup_timeout=600) as system:
            started = time.monotonic() - t0
            with MeshpipeClient(system.orchestrator_address, timeout=600) as client:
                first, first_matting = job(client)
                second, second_matting = job(client)
    return Row(label, cold, started, first, first_matting, second, second_matting)


def table(rows: list[Row], machine: str, note: str) -> str:
    lines = [
        "# First job and matting cold start on an empty numba cache",
        "",
        f"Machine: {machine}. Embedded backends (CPU), skimage's coffee photo, one object, "
        "texture on. Produced by `benchmarks/first_job.py` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).",
        "",
        *([note, ""] if note else []),
        "| code | matting cold start (spawn → first Matte) | system start | first job "
        "(matting) | second job (matting) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.label} | {r.matting_cold_start_s:.1f} s | {r.system_start_s:.1f} s | "
            f"{r.first_job_s:.1f} s ({r.first_job_matting_s:.1f} s) | "
            f"{r.second_job_s:.1f} s ({r.second_job_matting_s:.1f} s) |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, action="append", default=[])
    parser.add_argument("--label", action="append", default=[])
    parser.add_argument("--machine", default=f"{os.cpu_count()}-core CPU ({platform.machine()})")
    parser.add_argument("--name", default="first_job")
    parser.add_argument("--note", default="", help="a line about the conditions of the run")
    args = parser.parse_args()
    codes = args.code or [ROOT]
    labels = args.label or [str(c) for c in codes]
    rows = [measure(label, code) for label, code in zip(labels, codes, strict=True)]
    text = table(rows, args.machine, args.note)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text(text)
    (RESULTS / f"{args.name}.json").write_text(json.dumps([asdict(r) for r in rows], indent=2))


if __name__ == "__main__":
    main()
