"""Overhead of meshpipe's gRPC/process path versus calling the same backends in one process.

Path A, "processes": `LocalSystem` starts the four stages and the orchestrator as separate
processes; a client submits the photo over gRPC and follows the job to its end (artifacts,
manifest and job store are written as in production).
Path B, "in-process": the same stage backends (`build_backend` of each stage's StageSpec),
loaded once in this process and called one after the other on the same photo with the same
crops and knobs, passing images and meshes in memory; then the same job outputs the
orchestrator makes (each object's preview, the scene, the contact sheet), timed apart.

Both paths are warmed up, then timed in alternation (A, B, A, B, ...) so that both see the
same background load, and medians are reported. Two overhead figures:
* direct: (A total - B total) / B total, median of the paired differences;
* outside inference: the share of A's wall time spent outside the stages' backend inference
  as the stages report it and outside the job outputs (transport, (de)serialisation,
  artifact writes, job store, scheduling). Measured within each run, it is insensitive to
  load from other processes.

    .venv/bin/python benchmarks/pipeline_overhead.py [--image PATH] [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from meshpipe.catalogue import STAGES
from meshpipe.client import MeshpipeClient, job_options
from meshpipe.images import decode_image
from meshpipe.launcher.local import LocalSystem
from meshpipe.runtime.registry import load_spec
from meshpipe.v1 import orchestrator_pb2 as pb
from orchestrator.crops import crop_box
from orchestrator.domain import Box

RESULTS = Path(__file__).parent / "results"
STAGE_OF = {pb.STAGE_MATTING: "matting", pb.STAGE_SHAPE: "shape", pb.STAGE_TEXTURE: "texture"}
CROP_PADDING = 0.1  # the orchestrator's default


@dataclass
class Timing:
    """Wall seconds of one pipeline run: per stage (summed over objects) and in total, and the
    backend inference seconds the stages reported (path A; equal to `stages` on path B)."""

    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    inference: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    total: float = 0.0
    objects: int = 0
    outputs: float = 0.0  # previews, scene, contact sheet (path B; inside `total` on path A)


def median(runs: list[Timing]) -> Timing:
    """Per-field median of several runs."""
    return Timing(
        stages={s: statistics.median(r.stages[s] for r in runs) for s in STAGES},
        inference={s: statistics.median(r.inference[s] for r in runs) for s in STAGES},
        total=statistics.median(r.total for r in runs),
        objects=runs[0].objects,
        outputs=statistics.median(r.outputs for r in runs),
    )


# ----------------------------------------------------------------- path A: processes
def one_job(client: MeshpipeClient, image: bytes, seed: int) -> tuple[Timing, dict[str, str]]:
    """One job through the five processes; its timing and the backends that served it."""
    events: list[pb.JobEvent] = []
    t0 = time.perf_counter()
    done = client.submit(image, options=job_options(seed=seed), on_event=events.append)
    timing = Timing(total=time.perf_counter() - t0)
    if done.done.summary.state != pb.JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"benchmark job failed: {done.done.summary}")
    detections = next(e.detections for e in events if e.HasField("detections"))
    timing.stages["detector"] = detections.seconds
    timing.inference["detector"] = detections.report.inference_seconds
    backends = {"detector": f"{detections.backend.backend} ({detections.backend.weights})"}
    for result in (e.result for e in events if e.HasField("result")):
        timing.objects += 1
        for run in result.stages:
            stage = STAGE_OF[run.stage]
            timing.stages[stage] += run.seconds
            timing.inference[stage] += run.report.inference_seconds
            backends[stage] = f"{run.backend.backend} ({run.backend.weights})"
    return timing, backends


# ----------------------------------------------------------------- path B: in-process
class InProcess:
    """The four stage backends, loaded and warmed up in this process."""

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {s: _settings(s) for s in STAGES}
        self.backends: dict[str, Any] = {
            s: load_spec(s).build_backend(self.settings[s]) for s in STAGES
        }
        for backend in self.backends.values():
            backend.load()
            backend.warmup()

    def run(self, image_bytes: bytes, seed: int) -> Timing:
        """One image through detect -> crop -> matte -> shape -> texture, sequentially."""
        from services.detector.options import DetectOptions
        from services.shape.backends import ShapeRequest
        from services.texture.backends import TextureRequest

        b, timing = self.backends, Timing()
        outputs: list[tuple[Box, bytes]] = []
        t_start = time.perf_counter()
        image = _timed(timing, "detector", decode_image, image_bytes)
        options = DetectOptions.resolve(0, 0, 0, self.settings["detector"])
        found = _timed(timing, "detector", b["detector"].detect, image, "", options)
        for index, det in enumerate(found.detections):
            box = Box(x1=det.box.x1, y1=det.box.y1, x2=det.box.x2, y2=det.box.y2)
            c = crop_box(box, CROP_PADDING, image.width, image.height)
            crop = image.crop((int(c.x1), int(c.y1), int(c.x2), int(c.y2)))
            matte = _timed(timing, "matting", b["matting"].matte, crop).rgba
            shape_request = ShapeRequest(
                image=matte, seed=seed + index, octree_resolution=b["shape"].resolution(0)
            )
            mesh = _timed(timing, "shape", b["shape"].generate, shape_request)
            paint = TextureRequest(
                mesh.glb, matte, texture_size=b["texture"].texture_side(0), seed=seed + index
            )
            textured = _timed(timing, "texture", b["texture"].paint, paint)
            outputs.append((c, textured.glb))
            timing.objects += 1
        self._outputs(outputs, image.size, timing)
        timing.total = time.perf_counter() - t_start
        timing.inference = dict(timing.stages)
        return timing

    @staticmethod
    def _outputs(objects: list[tuple[Box, bytes]], size: tuple[int, int], timing: Timing) -> None:
        """Previews, scene and contact sheet as the orchestrator makes them (not a stage)."""
        from orchestrator.meshes import load_meshes
        from orchestrator.previews import contact_sheet_png, preview_png
        from orchestrator.scene import Placed, build_scene

        t0 = time.perf_counter()
        previews, placed = [], []
        for i, (crop, glb) in enumerate(objects):
            meshes = load_meshes(glb)
            previews.append((f"{i:03d}", preview_png(meshes)))
            placed.append(Placed(i, f"{i:03d}", crop, glb, meshes))
        build_scene(placed, *size)
        contact_sheet_png(previews)
        timing.outputs = time.perf_counter() - t0


def _settings(stage: str) -> Any:
    """A stage's settings from its environment (MESHPIPE_<STAGE>_*), as its process would."""
    settings_cls: Any = load_spec(stage).settings_cls
    return settings_cls()


def _timed(timing: Timing, stage: str, fn: Callable[..., Any], *args: Any) -> Any:
    t0 = time.perf_counter()
    result = fn(*args)
    timing.stages[stage] += time.perf_counter() - t0
    return result


def measure(image: bytes, runs: int, seed: int) -> tuple[list[Timing], list[Timing], dict]:
    """Warm both paths up, then time them in alternation: (A runs, B runs, backends)."""
    with tempfile.TemporaryDirectory() as tmp:
        system = LocalSystem(Path(tmp) / "run", Path(tmp) / "out")
        with system, MeshpipeClient(system.orchestrator_address, timeout=600) as client:
            pipeline = InProcess()
            _, backends = one_job(client, image, seed)
            pipeline.run(image, seed)
            a_runs, b_runs = [], []
            for _ in range(runs):
                a_runs.append(one_job(client, image, seed)[0])
                b_runs.append(pipeline.run(image, seed))
    return a_runs, b_runs, backends


# ----------------------------------------------------------------- report
def overheads(a_runs: list[Timing], b_runs: list[Timing]) -> dict[str, float]:
    """Direct (A vs B, median of the paired differences) and outside-inference share of A.
    The job outputs (previews, scene) are work, not overhead: the paired run's in-process
    time for them is taken out of A's outside-inference time."""
    pairs = list(zip(a_runs, b_runs, strict=True))
    direct = statistics.median(a.total - b.total for a, b in pairs)
    outside = [a.total - sum(a.inference.values()) - b.outputs for a, b in pairs]
    return {
        "direct_fraction": direct / statistics.median(b.total for b in b_runs),
        "outside_inference_fraction": statistics.median(
            o / a.total for o, a in zip(outside, a_runs, strict=True)
        ),
        "outside_inference_seconds": statistics.median(outside),
    }


def table(a: Timing, b: Timing) -> str:
    """Markdown table: per stage and total, both paths, and the overhead."""
    lines = [
        "| | processes + gRPC: wall (s) | of which backend inference (s) | in-process (s) "
        "| overhead (s) | overhead |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [(s, a.stages[s], a.inference[s], b.stages[s]) for s in STAGES]
    rows.append(("job outputs (orchestrator)", -1.0, 0.0, b.outputs))
    rows.append(("**total**", a.total, sum(a.inference.values()), b.total))
    for name, wall, inference, local in rows:
        if wall < 0:  # not a stage: only inside path A's total
            lines.append(f"| {name} | (in total) | - | {local:.3f} | - | - |")
            continue
        pct = f"{100 * (wall - local) / local:+.1f} %" if local > 0 else "-"
        lines.append(
            f"| {name} | {wall:.3f} | {inference:.3f} | {local:.3f} | {wall - local:+.3f} | {pct} |"
        )
    return "\n".join(lines)


def render(report: dict[str, Any], table_md: str) -> str:
    """The markdown report."""
    backends = ", ".join(f"{k} = {v}" for k, v in report["backends"].items())
    load = ", ".join(f"{x:.1f}" for x in report["load_average"])
    return (
        "# Pipeline overhead: five processes over gRPC vs one process\n\n"
        f"Image: {report['image']}, {report['objects']} object(s); median of {report['runs']} "
        f"warm runs per path, alternated; {report['machine']} (load average at the end: "
        f"{load}); backends: {backends}.\n\n{table_md}\n\n"
        f"* Direct overhead (A - B) / B: **{100 * report['direct_fraction']:.1f} %**.\n"
        "* Share of the process path's wall time outside backend inference: "
        f"**{100 * report['outside_inference_fraction']:.1f} %** "
        f"({report['outside_inference_seconds']:.3f} s per job).\n\n"
        f"Target: <= 10 %. Measured {report['measured_at']}.\n"
    )


def machine() -> str:
    """What the figures were measured on."""
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}, CPU only"


def default_image() -> tuple[bytes, str]:
    """The coffee photo from scikit-image, as JPEG bytes."""
    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.coffee()).save(buf, format="JPEG", quality=92)
    return buf.getvalue(), "skimage.data.coffee() (600x400 JPEG)"


def main() -> None:
    """Measure, print and save the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, help="photo (default: skimage coffee)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per path (median)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    image, label = (args.image.read_bytes(), str(args.image)) if args.image else default_image()
    a_runs, b_runs, backends = measure(image, args.runs, args.seed)
    processes, local = median(a_runs), median(b_runs)
    report = {
        "image": label,
        "objects": processes.objects,
        "runs": args.runs,
        "machine": machine(),
        "load_average": os.getloadavg(),
        "backends": backends,
        "processes": asdict(processes),
        "in_process": asdict(local),
        **overheads(a_runs, b_runs),
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    text = render(report, table(processes, local))
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "pipeline_overhead.md").write_text(text)
    (args.results / "pipeline_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
