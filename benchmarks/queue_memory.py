"""Memory a queued job costs the orchestrator: how far `max_queued_jobs` can go.

An in-process orchestrator (its JobManager, store and artifact folder; no gRPC server) with
one running slot whose job waits on a detector that never answers; N more jobs are accepted
and wait in the queue. The process's RSS is read before and after; the difference per job
is what one queued job holds (its record, event log, task and queue entry). The inputs
themselves are on disk.

    .venv/bin/python benchmarks/queue_memory.py [--jobs 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import os
import platform
import tempfile
import time
from pathlib import Path

from PIL import Image

from meshpipe.v1 import orchestrator_pb2 as pb
from orchestrator.convert import job_request_from_pb
from orchestrator.server import Orchestrator
from orchestrator.settings import OrchestratorSettings, StageEndpoint

RESULTS = Path(__file__).parent / "results"


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def photo() -> bytes:
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).resize((300, 200)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


async def measure(jobs: int, out: Path) -> tuple[int, int, float]:
    nowhere = StageEndpoint(address="127.0.0.1:9", deadline_seconds=3600)
    settings = OrchestratorSettings(
        output_dir=str(out),
        metrics_port=-1,
        max_running_jobs=1,
        max_queued_jobs=jobs + 10,
        unavailable_wait_seconds=3600,
        detector=nowhere,
        matting=nowhere,
        shape=nowhere,
        texture=nowhere,
        min_free_bytes=0,
    )
    app = await Orchestrator.build(settings)
    image = photo()
    await app.jobs.submit(job_request_from_pb(pb.SubmitJobRequest(image=image)))  # the runner
    await asyncio.sleep(0.5)
    gc.collect()
    before = rss()
    t0 = time.monotonic()
    for _ in range(jobs):
        await app.jobs.submit(job_request_from_pb(pb.SubmitJobRequest(image=image)))
    seconds = time.monotonic() - t0
    await asyncio.sleep(0.5)
    gc.collect()
    after = rss()
    await app.jobs.close()
    await app.close()
    return before, after, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before, after, seconds = asyncio.run(measure(args.jobs, Path(tmp)))
    per_job = (after - before) / args.jobs
    text = (
        "# Memory of queued jobs in the orchestrator\n\n"
        f"Machine: {os.cpu_count()}-core CPU ({platform.machine()}). Produced by "
        f"`benchmarks/queue_memory.py --jobs {args.jobs}` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}): an in-process orchestrator "
        "(one running slot, its job waiting on a detector that never answers), then "
        f"{args.jobs} more jobs accepted (300x200 JPEG each) that wait in the queue.\n\n"
        "| queued jobs | RSS before | RSS after | per queued job | accept time per job |\n"
        "|---:|---:|---:|---:|---:|\n"
        f"| {args.jobs} | {before / 2**20:.0f} MiB | {after / 2**20:.0f} MiB | "
        f"{per_job / 1024:.1f} KiB | {seconds / args.jobs * 1000:.1f} ms |\n"
    )
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "queue_memory.md").write_text(text)


if __name__ == "__main__":
    main()
