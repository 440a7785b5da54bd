"""GPU benchmark of the Hunyuan3D-Paint backend per paint profile (prepared; run on a GPU).

Builds the real architectures with RANDOM weights (SD 1.5-sized delight UNet, SD 2.1-sized
multiview UNet with its dual stream, SD VAE, CLIP text encoders; fp16 on disk) in a temp
HY3DGEN_MODELS tree, then, for every (profile, views, size) combination, in a fresh process
(so that the CUDA context and allocator start clean): loads the backend, paints a ~40k-face
mesh once (cold) and once more (warm), and records

* load seconds, cold and warm total seconds, warm seconds per step;
* peak allocated / peak reserved VRAM (torch, over both paints) and the process's NVML
  memory after them (context included), next to the backend's own footprint estimate.

Usage (repository root, CUDA machine, ~15 GB free disk for the models):

    python scripts/gpu/texture_bench.py                         # all profiles, 6/4 views, 2048/1024
    python scripts/gpu/texture_bench.py --profiles high,low --views 6 --sizes 2048
    python scripts/gpu/texture_bench.py --delight-steps 10 --multiview-steps 10   # quicker
    python scripts/gpu/texture_bench.py --device cpu --scale tiny --sizes 128 \
        --profiles none --views 4 --faces 2000 --out /tmp/smoke   # smoke test of the script

Results are printed and written to ``<out>.md`` / ``<out>.json`` (default
``benchmarks/results/texture_paint_gpu``). Numbers are labelled random-weights: time and
memory are those of the real architectures, the images are noise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GIB = float(1 << 30)


def say(line: str, flush: bool = True) -> None:
    """A line on stdout (this is a command-line script)."""
    sys.stdout.write(line + "\n")
    if flush:
        sys.stdout.flush()


def build(root: Path, scale: str) -> None:
    from meshpipe.torchcompat import ensure_torchvision
    from services.texture.paint.random_weights import build_models

    ensure_torchvision()
    start = time.perf_counter()
    build_models(root, scale="real" if scale == "real" else "tiny", half=scale == "real")
    say(f"built random-weight models in {time.perf_counter() - start:.0f} s", flush=True)


def bench_mesh(faces: int) -> Any:
    """A bumpy sphere with about `faces` triangles (hy3dgen meshes after FaceReducer: ~40k)."""
    import numpy as np
    import trimesh

    rows = max(8, int((faces / 4) ** 0.5))  # a UV sphere has ~4 rows^2 triangles
    mesh = trimesh.creation.uv_sphere(radius=0.8, count=[rows, rows])
    v = mesh.vertices
    bump = 1 + 0.08 * np.sin(6 * v[:, 0]) * np.cos(5 * v[:, 1]) * np.sin(4 * v[:, 2])
    mesh.vertices = v * bump[:, None]
    return mesh


def object_image() -> Any:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((64, 48, 448, 464), fill=(190, 110, 60, 255))
    return image


KNOBS = {
    "one_model_at_a_time",
    "offload",
    "vae_slicing",
    "vae_tiling",
    "attention_slicing",
    "delight_steps",
    "multiview_steps",
}


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """One configuration, in this process: load, paint cold, paint warm, measure.

    Peaks cover both paints (a lease must hold the first request after a load too).
    """
    import torch

    from meshpipe.runtime.gpu import nvml_process_bytes
    from services.texture.paint.engine import PaintEngine
    from services.texture.paint.settings import PaintSettings

    settings = PaintSettings(
        device=args.device,
        models_dir=args.models,
        paint_profile=args.profile,
        views=args.views,
        render_size=args.size,
        texture_size=args.size,
        delight_steps=args.delight_steps,
        multiview_steps=args.multiview_steps,
    )
    engine = PaintEngine(settings)
    start = time.perf_counter()
    engine.load()
    load_s = time.perf_counter() - start
    mesh, image = bench_mesh(args.faces), object_image()
    cuda = engine.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    cold = engine.paint(mesh.copy(), {}, image, args.size, seed=0)
    warm = engine.paint(mesh.copy(), {}, image, args.size, seed=1)
    return {
        "profile": args.profile,
        "views": args.views,
        "size": args.size,
        "faces": args.faces,
        **engine.settings.model_dump(include=KNOBS),
        "load_s": load_s,
        "cold_s": sum(cold.step_seconds.values()),
        "warm_s": sum(warm.step_seconds.values()),
        "steps_s": warm.step_seconds,
        "peak_allocated_gib": torch.cuda.max_memory_allocated() / GIB if cuda else 0.0,
        "peak_reserved_gib": torch.cuda.max_memory_reserved() / GIB if cuda else 0.0,
        "nvml_process_gib": nvml_process_bytes() / GIB,
        "estimate_gib": engine.footprint_bytes / GIB,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "torch": torch.__version__,
        "label": f"{args.scale} architectures, random weights",
    }


def run_all(args: argparse.Namespace, models: Path) -> list[dict[str, Any]]:
    rows = []
    combos = itertools.product(
        args.profiles.split(","),
        [int(v) for v in args.views.split(",")],
        [int(s) for s in args.sizes.split(",")],
    )
    for profile, views, size in combos:
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            "--models",
            str(models),
            "--profile",
            profile,
            "--view-count",
            str(views),
            "--size",
            str(size),
            "--faces",
            str(args.faces),
            "--delight-steps",
            str(args.delight_steps),
            "--multiview-steps",
            str(args.multiview_steps),
            "--device",
            args.device,
            "--scale",
            args.scale,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            error = " / ".join(line.replace("|", "/") for line in tail)
            rows.append({"profile": profile, "views": views, "size": size, "error": error})
        else:
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        say(table_row(rows[-1]), flush=True)
    return rows


HEADER = (
    "| profile | views | size | load s | cold s | warm s | delight s | multiview s | bake s "
    "| inpaint s | peak alloc GiB | peak reserved GiB | NVML GiB | estimate GiB |"
)


def table_row(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"| {r['profile']} | {r['views']} | {r['size']} | error: {r['error']} |"
    st = r["steps_s"]
    return (
        f"| {r['profile']} | {r['views']} | {r['size']} | {r['load_s']:.1f} | {r['cold_s']:.1f} "
        f"| {r['warm_s']:.1f} | {st.get('delight', 0):.1f} | {st.get('multiview', 0):.1f} "
        f"| {st.get('bake', 0):.1f} | {st.get('inpaint', 0):.1f} | {r['peak_allocated_gib']:.2f} "
        f"| {r['peak_reserved_gib']:.2f} | {r['nvml_process_gib']:.2f} | {r['estimate_gib']:.2f} |"
    )


def save(rows: list[dict[str, Any]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2))
    lines = [
        "Hunyuan3D-Paint backend on the GPU: real architectures, RANDOM weights.",
        "",
        HEADER,
        "|" + "---|" * 14,
        *[table_row(r) for r in rows],
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="high,balanced,medium,low,minimal")
    parser.add_argument("--views", default="6,4", help="comma-separated view counts (6, 4, 3)")
    parser.add_argument("--sizes", default="2048,1024", help="render = texture sides")
    parser.add_argument("--faces", type=int, default=40_000)
    parser.add_argument("--delight-steps", type=int, default=50)
    parser.add_argument("--multiview-steps", type=int, default=30)
    parser.add_argument("--models", default="", help="existing random-weight tree to reuse")
    parser.add_argument("--out", default="benchmarks/results/texture_paint_gpu")
    parser.add_argument("--device", default="cuda", help="cuda[:N]; cpu only as a smoke test")
    parser.add_argument(
        "--scale", default="real", choices=("real", "tiny"), help="tiny: CI-sized models (smoke)"
    )
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per configuration")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", default="high", help=argparse.SUPPRESS)
    parser.add_argument(
        "--view-count", dest="views_one", type=int, default=6, help=argparse.SUPPRESS
    )
    parser.add_argument("--size", type=int, default=2048, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.views = args.views_one
        say(json.dumps(worker(args)), flush=True)
        return
    with tempfile.TemporaryDirectory(prefix="paint-bench-") as tmp:
        os.environ.setdefault("HF_HOME", str(Path(tmp) / "hf"))
        models = Path(args.models) if args.models else Path(tmp) / "models"
        if not args.models:
            build(models, args.scale)
        say(HEADER, flush=True)
        rows = run_all(args, models)
    save(rows, Path(args.out))
    say(f"saved {args.out}.md/.json")


if __name__ == "__main__":
    main()
