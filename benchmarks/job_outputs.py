"""What the job-level outputs add to a job: previews, scene, contact sheet, each extra format.

Two measurements, both on the embedded backends and the machine this runs on:

* in the job: `LocalSystem` runs the five processes; each warm job on the photo is followed
  from a client, which time-stamps every event on arrival. The orchestrator's own output
  work for an object lies between the texture stage's `progress finished` event and the
  object's `result` event (its GLB read, preview, extra formats and the scene rebuilt), the
  contact sheet and manifest between the last `result` and `done`. Job configurations (no
  extra format, then each format alone) alternate, so all see the same background load.
* in isolation: the same steps called in this process on the last job's textured GLB.

    .venv/bin/python benchmarks/job_outputs.py [--image PATH] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trimesh

from benchmarks.pipeline_overhead import default_image, machine
from meshpipe.client import MeshpipeClient, job_options
from meshpipe.launcher.local import LocalSystem
from meshpipe.v1 import orchestrator_pb2 as pb
from orchestrator.domain import Box
from orchestrator.exports import FORMATS, export
from orchestrator.meshes import base_colour_texture, load_meshes
from orchestrator.previews import contact_sheet_png, preview_png
from orchestrator.scene import Placed, SceneParts, build_scene

RESULTS = Path(__file__).parent / "results"
CONFIGS: list[tuple[str, list[str]]] = [("glb only", []), *[(f, [f]) for f in FORMATS]]


def one_job(client: MeshpipeClient, image: bytes, formats: list[str]) -> dict[str, Any]:
    """One job; its wall time and the orchestrator-side output phases seen from events."""
    stamps: list[tuple[float, pb.JobEvent]] = []
    t0 = time.perf_counter()
    client.submit(
        image,
        options=job_options(seed=1, formats=formats),
        on_event=lambda e: stamps.append((time.perf_counter(), e)),
    )
    done_at, done = stamps[-1]
    if done.done.summary.state != pb.JOB_STATE_SUCCEEDED:
        raise RuntimeError(f"benchmark job did not succeed: {done.done.summary}")
    textured = {
        e.progress.object_index: t
        for t, e in stamps
        if e.HasField("progress") and e.progress.finished and e.progress.stage == pb.STAGE_TEXTURE
    }
    results = [(t, e.result) for t, e in stamps if e.HasField("result")]
    return {
        "wall": done_at - t0,
        "outputs": sum(t - textured[r.object_index] for t, r in results),
        "finish": done_at - max(t for t, _ in results),
        "objects": len(results),
        "glb": next(a.relative_path for a in results[-1][1].artifacts if a.kind == "textured_mesh"),
        "job_id": done.job_id,
    }


def in_job(image: bytes, runs: int) -> tuple[dict[str, list[dict[str, Any]]], bytes]:
    """Timed jobs per configuration (alternated), and the last textured GLB."""
    timings: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in CONFIGS}
    with tempfile.TemporaryDirectory() as tmp:
        system = LocalSystem(Path(tmp) / "run", Path(tmp) / "out")
        with system, MeshpipeClient(system.orchestrator_address, timeout=600) as client:
            for _, formats in CONFIGS:  # warm-up: loads every stage and code path
                one_job(client, image, formats)
            for _ in range(runs):
                for name, formats in CONFIGS:
                    timings[name].append(one_job(client, image, formats))
            last = timings["glb only"][-1]
            glb = (system.output_dir / last["job_id"] / last["glb"]).read_bytes()
    return timings, glb


def isolated(glb: bytes, repeat: int) -> dict[str, float]:
    """Median seconds of each output step called directly on one textured GLB."""
    meshes = load_meshes(glb)
    preview = preview_png(meshes)
    placed = [Placed(0, "000_object", Box(x1=0, y1=0, x2=600, y2=400), glb)]
    eight = [
        Placed(i, f"{i:03d}_object", Box(x1=75 * i, y1=0, x2=75 * i + 75, y2=100), g)
        for i, g in enumerate(tinted(glb, 8))
    ]
    warm = SceneParts()
    build_scene(eight, 600, 400, warm)
    steps: dict[str, Callable[[], object]] = {
        "read GLB (trimesh)": lambda: load_meshes(glb),
        "preview 512x512 (render + PNG)": lambda: preview_png(load_meshes(glb)),
        "scene.glb, 1 object": lambda: build_scene(placed, 600, 400),
        "scene.glb, 8 objects, first build": lambda: build_scene(eight, 600, 400),
        "scene.glb, 8 objects, prepared (a rebuild)": lambda: build_scene(eight, 600, 400, warm),
        "contact sheet, 1 object": lambda: contact_sheet_png([("000_object", preview)]),
        **{f"format {f}": _exporter(glb, f) for f in FORMATS},
    }
    out = {}
    for name, step in steps.items():
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times)
    return out


def tinted(glb: bytes, n: int) -> list[bytes]:
    """`n` copies of a textured GLB whose textures differ (so the scene keeps n images)."""
    out = []
    for i in range(n):
        (mesh,) = load_meshes(glb)
        texture = base_colour_texture(mesh)
        assert texture is not None
        texture.putpixel((0, 0), (i, i, i))
        out.append(_glb(mesh))
    return out


def _glb(mesh: trimesh.Trimesh) -> bytes:
    data = mesh.export(file_type="glb")
    assert isinstance(data, bytes)
    return data


def _exporter(glb: bytes, fmt: str) -> Callable[[], object]:
    return lambda: export(load_meshes(glb), fmt, "x")


def render(report: dict[str, Any]) -> str:
    """The markdown report."""
    base = report["in_job"]["glb only"]
    lines = [
        "# Job outputs: previews, scene, contact sheet, extra formats",
        "",
        f"Image: {report['image']}, {base['objects']} object(s); embedded backends; "
        f"{report['machine']} (load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in report['load_average'])}); medians of "
        f"{report['runs']} warm jobs per configuration, alternated. Measured "
        f"{report['measured_at']}.",
        "",
        "## In the job (five processes, seconds from client-side event times)",
        "",
        "| job | wall | outputs per object (preview + formats + scene) | contact sheet + "
        "manifest | added vs glb only |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, m in report["in_job"].items():
        added = m["outputs"] - base["outputs"]
        lines.append(
            f"| {name} | {m['wall']:.3f} | {m['outputs']:.3f} | {m['finish']:.3f} | "
            f"{'-' if name == 'glb only' else f'{added:+.3f}'} |"
        )
    share = report["share_of_job"]
    lines += [
        "",
        f"Previews + scene + contact sheet (glb only: outputs + finish) = "
        f"{base['outputs'] + base['finish']:.3f} s = **{100 * share:.1f} %** of the job's "
        "wall time (target <= 15 %).",
        "",
        f"## In isolation (this process, the job's textured GLB, median of {report['repeat']})",
        "",
        "| step | seconds |",
        "|---|---:|",
        *[f"| {k} | {v:.3f} |" for k, v in report["isolated"].items()],
        "",
    ]
    return "\n".join(lines)


def median_of(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Per-field medians of the numeric fields."""
    keys = ("wall", "outputs", "finish", "objects")
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def main() -> None:
    """Measure, print and save the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, help="photo (default: skimage coffee)")
    parser.add_argument("--runs", type=int, default=5, help="timed jobs per configuration")
    parser.add_argument("--repeat", type=int, default=5, help="isolated repetitions")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    image, label = (args.image.read_bytes(), str(args.image)) if args.image else default_image()
    timings, glb = in_job(image, args.runs)
    medians = {name: median_of(runs) for name, runs in timings.items()}
    base = medians["glb only"]
    report = {
        "image": label,
        "runs": args.runs,
        "repeat": args.repeat,
        "machine": machine(),
        "load_average": os.getloadavg(),
        "in_job": medians,
        "share_of_job": (base["outputs"] + base["finish"]) / base["wall"],
        "isolated": isolated(glb, args.repeat),
        "raw": timings,
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    text = render(report)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "job_outputs.md").write_text(text)
    (args.results / "job_outputs.json").write_text(json.dumps(report, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
