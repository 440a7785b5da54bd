"""meshpipe under load: a burst of concurrent submits, a steady stream of jobs, and one
photo that decodes to a huge image, against five real processes (LocalSystem, embedded
backends, CPU).

Phases (one system, in order):
1. burst: `--burst` SubmitJob calls at once;
2. steady: `--steady` jobs submitted at `--rate` per second;
3. large: one PNG of a few hundred KB that decodes to `--large-side`² pixels.

Throughout, a poller calls GetJob every 0.1 s (latency percentiles: the orchestrator keeps
answering while it is busy) and the RSS of every process is sampled every 0.5 s. Reported:
accepted vs refused (by code), time to drain each phase, job latency, queue positions seen,
GetJob latency, RSS (max and at the end) of every process, the large job's matting peak.

    .venv/bin/python benchmarks/load.py [--burst 100] [--steady 300] [--rate 2.5] [--name load]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from PIL import Image

from meshpipe.launcher.local import LocalSystem
from meshpipe.v1 import orchestrator_pb2 as pb
from meshpipe.v1 import orchestrator_pb2_grpc

RESULTS = Path(__file__).parent / "results"
OPTIONS = pb.JobOptions(
    texture=False, shape=pb.ShapeOptions(octree_resolution=48), max_objects=1, seed=1
)


@dataclass
class Phase:
    name: str
    submitted: int = 0
    accepted: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    succeeded: int = 0
    drain_seconds: float = 0.0
    job_seconds: list[float] = field(default_factory=list)
    max_queue_position: int = 0


def small_photo() -> bytes:
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).resize((300, 200)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def huge_png(side: int) -> bytes:
    """A smooth photo-like image (a gradient with a disc) that PNG compresses to little."""
    x = np.arange(side)[None, :]
    y = np.arange(side)[:, None]
    img = np.zeros((side, side, 3), np.uint8)
    img[..., 0] = (x * 200 // side).astype(np.uint8)
    img[..., 1] = (y * 200 // side).astype(np.uint8)
    img[..., 2] = 180
    disc = (x - side // 2) ** 2 + (y - side // 2) ** 2 < (side // 4) ** 2
    img[disc] = (200, 40, 40)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


async def one_job(stub: Any, image: bytes, phase: Phase, known: list[str]) -> None:
    phase.submitted += 1
    t0 = time.monotonic()
    try:
        async for event in stub.SubmitJob(pb.SubmitJobRequest(image=image, options=OPTIONS)):
            kind = event.WhichOneof("event")
            if kind == "accepted":
                phase.accepted += 1
                known.append(event.job_id)
            elif kind == "queued":
                phase.max_queue_position = max(phase.max_queue_position, event.queued.position)
            elif kind == "done":
                phase.succeeded += event.done.summary.state == pb.JOB_STATE_SUCCEEDED
                phase.job_seconds.append(time.monotonic() - t0)
    except grpc.aio.AioRpcError as err:
        code = err.code().name
        phase.refused[code] = phase.refused.get(code, 0) + 1


async def run_phase(
    stub: Any, phase: Phase, jobs: int, rate: float, image: bytes, known: list[str]
) -> None:
    t0 = time.monotonic()
    tasks = []
    for i in range(jobs):
        if rate > 0:
            await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one_job(stub, image, phase, known)))
    await asyncio.gather(*tasks)
    phase.drain_seconds = time.monotonic() - t0


async def poll_get_job(
    stub: Any, known: list[str], latencies: list[float], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        if known:
            t0 = time.monotonic()
            try:
                await stub.GetJob(pb.GetJobRequest(job_id=known[-1]), timeout=30)
                latencies.append(time.monotonic() - t0)
            except grpc.aio.AioRpcError:
                latencies.append(float("inf"))
        await asyncio.sleep(0.1)


def rss_bytes(pid: int, key: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


async def sample_rss(system: LocalSystem, peaks: dict[str, int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for name, child in system.children.items():
            peaks[name] = max(peaks.get(name, 0), rss_bytes(child.pid))
        await asyncio.sleep(0.5)


async def run(args: argparse.Namespace, system: LocalSystem) -> dict[str, Any]:
    channel = grpc.aio.insecure_channel(
        system.orchestrator_address, options=[("grpc.max_receive_message_length", 64 << 20)]
    )
    stub = orchestrator_pb2_grpc.OrchestratorStub(channel)
    known: list[str] = []
    latencies: list[float] = []
    peaks: dict[str, int] = {}
    stop = asyncio.Event()
    background = [
        asyncio.create_task(poll_get_job(stub, known, latencies, stop)),
        asyncio.create_task(sample_rss(system, peaks, stop)),
    ]
    photo = small_photo()
    phases = [Phase("burst"), Phase("steady"), Phase("large")]
    await run_phase(stub, phases[0], args.burst, 0.0, photo, known)
    await run_phase(stub, phases[1], args.steady, args.rate, photo, known)
    matting_pid = system.children["matting"].pid
    before_large = rss_bytes(matting_pid)
    large = huge_png(args.large_side)
    await run_phase(stub, phases[2], 1, 0.0, large, known)
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*background)
    await channel.close()
    return {
        "phases": [asdict(p) for p in phases],
        "get_job_latency": latencies,
        "rss_peak": peaks,
        "rss_end": {n: rss_bytes(c.pid) for n, c in system.children.items()},
        "large": {
            "png_bytes": len(large),
            "side": args.large_side,
            "matting_rss_before": before_large,
            "matting_rss_after": rss_bytes(matting_pid),
            "matting_hwm": rss_bytes(matting_pid, "VmHWM"),
        },
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def table(result: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        "# meshpipe under load",
        "",
        f"Machine: {args.machine}. Five local processes (LocalSystem), embedded backends on "
        "the CPU, orchestrator defaults (max_running_jobs 4, max_queued_jobs 5000). Jobs: a "
        "300x200 JPEG, one object, texture off, octree 48. Produced by `benchmarks/load.py "
        f"--burst {args.burst} --steady {args.steady} --rate {args.rate}` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).",
        *(["", args.note] if args.note else []),
        "",
        "| phase | submitted | accepted | refused | succeeded | deepest queue position | "
        "drain | job latency p50 / p95 / max |",
        "|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for p in result["phases"]:
        s = p["job_seconds"]
        refused = ", ".join(f"{k} {v}" for k, v in p["refused"].items()) or "0"
        lines.append(
            f"| {p['name']} | {p['submitted']} | {p['accepted']} | {refused} | {p['succeeded']} "
            f"| {p['max_queue_position']} | {p['drain_seconds']:.1f} s | "
            f"{pct(s, 0.5):.1f} / {pct(s, 0.95):.1f} / {max(s, default=float('nan')):.1f} s |"
        )
    lat = [x for x in result["get_job_latency"] if x != float("inf")]
    failed = len(result["get_job_latency"]) - len(lat)
    lines += [
        "",
        f"GetJob while loaded: {len(lat)} calls, {failed} failed; latency p50 "
        f"{pct(lat, 0.5) * 1000:.1f} ms, p95 {pct(lat, 0.95) * 1000:.1f} ms, p99 "
        f"{pct(lat, 0.99) * 1000:.1f} ms, max {max(lat, default=0) * 1000:.1f} ms.",
        "",
        "| process | peak RSS | RSS at the end |",
        "|---|---:|---:|",
    ]
    for name, peak in result["rss_peak"].items():
        lines.append(f"| {name} | {mib(peak)} | {mib(result['rss_end'].get(name, 0))} |")
    lg = result["large"]
    lines += [
        "",
        f"Large photo: a {lg['png_bytes'] / 1024:.0f} KB PNG decoding to {lg['side']}² pixels: "
        f"matting RSS {mib(lg['matting_rss_before'])} before, peak (VmHWM, whole run) "
        f"{mib(lg['matting_hwm'])}, {mib(lg['matting_rss_after'])} after the job.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--steady", type=int, default=300)
    parser.add_argument("--rate", type=float, default=2.5)
    parser.add_argument("--large-side", type=int, default=6300)
    parser.add_argument("--machine", default=f"{os.cpu_count()}-core CPU ({platform.machine()})")
    parser.add_argument("--note", default="")
    parser.add_argument("--name", default="load")
    parser.add_argument(
        "--code", type=Path, help="run the processes from another checkout (e.g. before a change)"
    )
    args = parser.parse_args()
    env = {}
    if args.code:  # `python -m` puts the working directory first on sys.path
        os.chdir(args.code)
        env["PYTHONPATH"] = str(args.code)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with LocalSystem(work / "run", work / "out", env=env, startup_timeout=600) as system:
            result = asyncio.run(run(args, system))
    text = table(result, args)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text(text)
    result["get_job_latency"] = {
        "count": len(result["get_job_latency"]),
        "p50": pct(result["get_job_latency"], 0.5),
        "p99": pct(result["get_job_latency"], 0.99),
    }
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
