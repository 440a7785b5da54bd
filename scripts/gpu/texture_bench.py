"""GPU benchmark of the Hunyuan3D-Paint backend per paint profile, through the texture service.

Builds the real architectures with RANDOM weights (SD 1.5-sized delight UNet, SD 2.1-sized
multiview UNet with its dual stream, SD VAE, CLIP text encoders; fp16 on disk) once in a temp
HY3DGEN_MODELS tree, then, for every (profile, views, size) combination, starts a fresh
`meshpipe stage texture` process with backend hunyuan-paint (env
MESHPIPE_TEXTURE_PAINT__<FIELD> for the tree, profile, views, sizes and steps) and drives it
over gRPC like scripts/gpu/backends_bench.py does for the other stages: Describe, Load
(admin RPC), PaintTexture of a ~40k-face mesh GLB + RGBA image once (cold) and once more
(warm), Unload, SIGTERM. Recorded per configuration:

* load seconds (the Load RPC), cold and warm seconds (PaintTexture wall time over gRPC),
  warm seconds per step (the response's StageReport.step_seconds);
* peak reserved VRAM (StageReport.peak_device_bytes, max over both requests), the stage's
  NVML process memory after them (its /metrics meshpipe_stage_nvml_process_bytes, context
  included), next to the lease estimate (StageAdmin.Describe.footprint_estimate_bytes after
  the load, before any request). Peak allocated is not exposed by the service: '-'.

The stage's own warm-up paint after a load is off unless --warmup is given, so that 'cold'
is the first paint after the load.

Usage (repository root, CUDA machine, ~15 GB free disk for the models):

    python -m scripts.gpu.texture_bench                         # all profiles, 6/4 views, 2048/1024
    python -m scripts.gpu.texture_bench --profiles high,low --views 6 --sizes 2048
    python -m scripts.gpu.texture_bench --delight-steps 10 --multiview-steps 10   # quicker
    python -m scripts.gpu.texture_bench --device cpu --tiny --delight-steps 1 \
        --multiview-steps 1 --views 4 --sizes 256 --profiles high --out /tmp/smoke  # smoke test

Results are printed and written to ``<out>.md`` / ``<out>.json`` (default
``benchmarks/results/texture_paint_gpu``) after every configuration. Numbers are labelled
random-weights: time and memory are those of the real architectures, the images are noise.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GIB = float(1 << 30)
MAX_MESSAGE_BYTES = 1 << 30  # textured 2048/4096 GLBs and 40k-face meshes, with room


def say(line: str, flush: bool = True) -> None:
    """A line on stdout (this is a command-line script)."""
    sys.stdout.write(line + "\n")
    if flush:
        sys.stdout.flush()


def build(root: Path, scale: str) -> None:
    from meshpipe.torchcompat import ensure_torchvision
    from tests.support.random_paint_weights import build_models

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


def request_bytes(faces: int) -> tuple[bytes, bytes, int]:
    """The mesh as a GLB (as the shape stage sends it), the image as PNG, the face count."""
    mesh = bench_mesh(faces)
    glb: bytes = mesh.export(file_type="glb")
    buf = io.BytesIO()
    object_image().save(buf, format="PNG")
    return glb, buf.getvalue(), len(mesh.faces)


KNOBS = {
    "one_model_at_a_time",
    "offload",
    "vae_slicing",
    "vae_tiling",
    "attention_slicing",
    "delight_steps",
    "multiview_steps",
}


def paint_values(
    args: argparse.Namespace, models: Path, profile: str, views: int, size: int
) -> dict[str, Any]:
    """The stage's nested paint settings of one configuration."""
    return {
        "models_dir": str(models),
        "paint_profile": profile,
        "views": views,
        "render_size": size,
        "texture_size": size,
        "delight_steps": args.delight_steps,
        "multiview_steps": args.multiview_steps,
    }


def knobs(paint: dict[str, Any]) -> dict[str, Any]:
    """The knobs the stage resolves from `paint` (profile filling what was not set)."""
    from services.texture.paint.settings import PaintSettings, apply_paint_profile, profile_name

    try:
        settings = PaintSettings.model_validate(paint)
        resolved = apply_paint_profile(settings, profile_name(settings, 0))
    except ValueError:  # the stage will refuse it too, and say why in the row
        return {}
    return resolved.model_dump(include=KNOBS)


def stage_env(args: argparse.Namespace, paint: dict[str, Any]) -> dict[str, str]:
    """Environment of the texture stage process for one configuration."""
    env = dict(os.environ)
    env.update(
        {
            "MESHPIPE_TEXTURE_BACKEND": "hunyuan-paint",
            "MESHPIPE_TEXTURE_DEVICE": args.device,
            "MESHPIPE_TEXTURE_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
            "MESHPIPE_TEXTURE_PARK_AFTER": "0",  # no idle park / unload between the requests
            "MESHPIPE_TEXTURE_UNLOAD_AFTER": "0",
            "MESHPIPE_TEXTURE_WARMUP": "true" if args.warmup else "false",
        }
    )
    # MESHPIPE_TEXTURE_PAINT__<FIELD>; `views` (a Literal[6, 4, 3]) refuses the env string
    # "4", so it goes in as JSON on MESHPIPE_TEXTURE_PAINT, which pydantic-settings merges.
    env["MESHPIPE_TEXTURE_PAINT"] = json.dumps({"views": paint["views"]})
    env.update(
        {f"MESHPIPE_TEXTURE_PAINT__{k.upper()}": str(v) for k, v in paint.items() if k != "views"}
    )
    return env


def gpu_name(device: str) -> str:
    """The GPU's name from NVML (no CUDA context in this process), else the device string."""
    if not device.startswith("cuda"):
        return "cpu"
    try:
        import pynvml

        pynvml.nvmlInit()
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(index))
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # NVML missing: the name is only a label
        return device


def lifecycle(stage: Any, glb: bytes, png: bytes, timeout: float) -> dict[str, Any]:
    """Describe, Load, paint cold, paint warm, Unload of a running texture stage."""
    from meshpipe.v1 import common_pb2, stage_pb2

    rec: dict[str, Any] = {}
    before = stage.admin.Describe(stage_pb2.DescribeRequest(), timeout=60)
    rec["estimate_before_load_gib"] = before.footprint_estimate_bytes / GIB
    rec["load_s"] = stage.admin.Load(stage_pb2.LoadRequest(), timeout=timeout).seconds
    loaded = stage.admin.Describe(stage_pb2.DescribeRequest(), timeout=60)
    rec.update(
        backend=loaded.backend.backend,
        stage_device=loaded.backend.device,
        estimate_gib=loaded.footprint_estimate_bytes / GIB,
    )
    status = stage.admin.GetStatus(stage_pb2.GetStatusRequest(), timeout=60)
    rec["resident_allocated_gib"] = status.device_allocated_bytes / GIB
    rec["resident_reserved_gib"] = status.device_reserved_bytes / GIB
    replies = []
    for seed in (0, 1):
        request = stage_pb2.PaintTextureRequest(mesh_glb=glb, rgba_png=png, seed=seed)
        t0 = time.perf_counter()
        reply = stage.infer.PaintTexture(request, timeout=timeout)
        replies.append((time.perf_counter() - t0, reply))
    (cold_s, cold), (warm_s, warm) = replies
    metrics = stage.metrics()
    rec.update(
        cold_s=cold_s,
        warm_s=warm_s,
        cold_inference_s=cold.report.inference_seconds,
        warm_inference_s=warm.report.inference_seconds,
        cold_steps_s=dict(cold.report.step_seconds),
        steps_s=dict(warm.report.step_seconds),
        texture_size=warm.texture_size,
        textured_glb_mib=len(warm.textured_glb) / float(1 << 20),
        peak_reserved_gib=max(cold.report.peak_device_bytes, warm.report.peak_device_bytes) / GIB,
        nvml_process_gib=metrics.get("nvml_process_bytes", 0.0) / GIB,
        learned_estimate_gib=stage.admin.Describe(
            stage_pb2.DescribeRequest(), timeout=60
        ).footprint_estimate_bytes
        / GIB,
        metrics=metrics,
    )
    cold_state = common_pb2.MODEL_STATE_COLD
    unload = stage_pb2.UnloadRequest(target=cold_state, wait_for_idle=True)
    rec["unload_s"] = stage.admin.Unload(unload, timeout=timeout).seconds
    return rec


def run_one(
    args: argparse.Namespace, models: Path, logs: Path, combo: tuple[str, int, int]
) -> dict[str, Any]:
    """One configuration in a fresh texture stage process (clean CUDA context and allocator)."""
    from importlib.metadata import version

    from meshpipe.v1 import stage_pb2_grpc
    from scripts.gpu.stage_process import _INFER_STUBS, StageProcess

    _INFER_STUBS.setdefault("texture", stage_pb2_grpc.TextureStub)
    profile, views, size = combo
    paint = paint_values(args, models, profile, views, size)
    glb, png, faces = request_bytes(args.faces)
    rec: dict[str, Any] = {"profile": profile, "views": views, "size": size, "faces": faces}
    rec.update(knobs(paint))
    log = logs / f"texture-{profile}-{views}v-{size}.log"
    try:
        with StageProcess("texture", stage_env(args, paint), log, args.timeout) as stage:
            rec.update(lifecycle(stage, glb, png, args.timeout))
    except Exception as exc:  # one failed configuration must not end the benchmark
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.is_file() else []
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
        rec["error"] = " / ".join([error, *tail]).replace("|", "/").replace("\n", " ")
        rec["log_tail"] = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
    rec.update(
        peak_allocated_gib=None,  # not exposed by the service
        device=gpu_name(args.device),
        torch=version("torch"),
        method="texture stage service over gRPC",
        warmup=args.warmup,
        label=f"{args.scale} architectures, random weights",
    )
    return rec


def run_all(args: argparse.Namespace, models: Path, logs: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    combos = itertools.product(
        args.profiles.split(","),
        [int(v) for v in args.views.split(",")],
        [int(s) for s in args.sizes.split(",")],
    )
    for combo in combos:
        rows.append(run_one(args, models, logs, combo))
        say(table_row(rows[-1]), flush=True)
        save(rows, Path(args.out))  # after each: a run cut short keeps what finished
    return rows


HEADER = (
    "| profile | views | size | load s | cold s | warm s | delight s | multiview s | bake s "
    "| inpaint s | peak alloc GiB | peak reserved GiB | NVML GiB | estimate GiB |"
)


def _gib(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table_row(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"| {r['profile']} | {r['views']} | {r['size']} | error: {r['error']} |"
    st = r["steps_s"]
    return (
        f"| {r['profile']} | {r['views']} | {r['size']} | {r['load_s']:.1f} | {r['cold_s']:.1f} "
        f"| {r['warm_s']:.1f} | {st.get('delight', 0):.1f} | {st.get('multiview', 0):.1f} "
        f"| {st.get('bake', 0):.1f} | {st.get('inpaint', 0):.1f} "
        f"| {_gib(r.get('peak_allocated_gib'))} | {r['peak_reserved_gib']:.2f} "
        f"| {r['nvml_process_gib']:.2f} | {r['estimate_gib']:.2f} |"
    )


def save(rows: list[dict[str, Any]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2))
    lines = [
        "Hunyuan3D-Paint backend on the GPU through the texture stage service (gRPC): real "
        "architectures, RANDOM weights. load = Load RPC; cold / warm = first / second "
        "PaintTexture wall time; steps from StageReport.step_seconds; peak reserved = "
        "StageReport.peak_device_bytes; NVML = the stage's /metrics; estimate = "
        "Describe.footprint_estimate_bytes after the load; peak alloc is not exposed (-).",
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
    parser.add_argument("--tiny", action="store_true", help="same as --scale tiny")
    parser.add_argument(
        "--warmup", action="store_true", help="let the stage run its warm-up paint in Load"
    )
    parser.add_argument(
        "--timeout", type=int, default=1200, help="seconds per RPC / stage start (per config)"
    )
    args = parser.parse_args()
    if args.tiny:
        args.scale = "tiny"
    with tempfile.TemporaryDirectory(prefix="paint-bench-") as tmp:
        os.environ.setdefault("HF_HOME", str(Path(tmp) / "hf"))
        models = Path(args.models) if args.models else Path(tmp) / "models"
        if not args.models:
            build(models, args.scale)
        logs = Path(tmp) / "logs"  # stage logs; an error row quotes the tail
        logs.mkdir()
        say(HEADER, flush=True)
        run_all(args, models, logs)
    say(f"saved {args.out}.md/.json")


if __name__ == "__main__":
    main()
