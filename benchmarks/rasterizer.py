"""Benchmark of the pure-PyTorch rasteriser (services/texture/paint/rasterizer.py).

CPU (default): 512x512 views of 10k / 40k / 200k-face meshes.
GPU: ``python benchmarks/rasterizer.py --device cuda --size 2048`` (add ``--size 1024`` for
the low-VRAM profiles). When hy3dgen's compiled ``custom_rasterizer`` is installed the
script also times it on the same views and reports the agreement of face ids
(``--no-extension`` skips that).

Each case renders a displaced torus (self-occluding, both windings visible) through
hy3dgen's default orthographic camera (box 1.2, camera distance 1.45), and its UV grid
at the same size (as MeshRender.uv_feature_map rasterises UV triangles for baking). Timings are the
median of ``--repeat`` runs after one warm-up. Prints a table and writes
``benchmarks/results/rasterizer_<device>_<size>.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from services.texture.paint.rasterizer import interpolate, rasterize

FACE_COUNTS = {"10k": (100, 50), "40k": (200, 100), "200k": (500, 200)}
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Row:
    mesh: str
    faces: int
    view: str
    size: int
    ms_median: float
    ms_min: float
    interpolate_ms: float
    covered_fraction: float
    peak_mib: float
    extension_ms: float | None = None
    extension_agreement: float | None = None


def torus(major: int, minor: int) -> tuple[np.ndarray, np.ndarray]:
    """Displaced torus with exactly 2 * major * minor faces: vertices, faces."""
    u = np.linspace(0, 2 * np.pi, major, endpoint=False)
    v = np.linspace(0, 2 * np.pi, minor, endpoint=False)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    r = 0.12 * (1 + 0.15 * np.sin(5 * uu) * np.cos(3 * vv))
    x = (0.35 + r * np.cos(vv)) * np.cos(uu)
    y = (0.35 + r * np.cos(vv)) * np.sin(uu)
    z = r * np.sin(vv)
    verts = np.stack([x, y, z], axis=-1).reshape(-1, 3)
    return verts, grid_faces(major, minor, wrap=True)


def grid_faces(rows: int, cols: int, wrap: bool) -> np.ndarray:
    """Two triangles per cell of a rows x cols grid (periodic, or of (rows+1)x(cols+1) points)."""
    stride = cols if wrap else cols + 1
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    i1 = (i + 1) % rows if wrap else i + 1
    j1 = (j + 1) % cols if wrap else j + 1
    a, b, c, d = i * stride + j, i1 * stride + j, i1 * stride + j1, i * stride + j1
    faces = np.concatenate([np.stack([a, b, c], -1), np.stack([a, c, d], -1)])
    return faces.reshape(-1, 3).astype(np.int32)


def uv_layout(major: int, minor: int) -> tuple[np.ndarray, np.ndarray]:
    """The torus' UV atlas as MeshRender.uv_feature_map rasterises it: (2uv - 1, 0, 1)."""
    u, v = np.meshgrid(np.linspace(0, 1, major + 1), np.linspace(0, 1, minor + 1), indexing="ij")
    uv = np.stack([u.ravel(), v.ravel()], axis=1) * 0.98 + 0.01
    clip = np.concatenate([uv * 2 - 1, np.zeros((len(uv), 1)), np.ones((len(uv), 1))], 1)
    return clip.astype(np.float32), grid_faces(major, minor, wrap=False)


def view_clip(verts: np.ndarray) -> np.ndarray:
    """hy3dgen's orthographic camera at elevation 20, azimuth 30, distance 1.45."""
    elev, azim, dist = math.radians(20), math.radians(30), 1.45
    eye = dist * np.array(
        [math.cos(elev) * math.sin(azim), math.sin(elev), math.cos(elev) * math.cos(azim)]
    )
    fwd = -eye / np.linalg.norm(eye)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    cam = (verts - eye) @ np.stack([right, up, -fwd]).T
    near, far, half = 0.1, 100.0, 0.6
    z = -2.0 / (far - near) * cam[:, 2] - (far + near) / (far - near)
    clip = np.stack([cam[:, 0] / half, cam[:, 1] / half, z, np.ones(len(cam))], axis=1)
    return clip.astype(np.float32)


def timed(fn: Callable[[], Any], device: torch.device, repeat: int) -> tuple[list[float], Any]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeat):
        sync(device)
        start = time.perf_counter()
        out = fn()
        sync(device)
        times.append((time.perf_counter() - start) * 1e3)
    return times, out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_case(
    name: str, view: str, pos: torch.Tensor, tri: torch.Tensor, size: int, repeat: int, ext: Any
) -> Row:
    device = pos.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times, (findices, bary) = timed(lambda: rasterize(pos, tri, (size, size)), device, repeat)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else 0.0
    attr = pos[..., :3].contiguous()
    itimes, _ = timed(lambda: interpolate(attr, findices, bary, tri), device, repeat)
    row = Row(
        name,
        int(tri.shape[0]),
        view,
        size,
        statistics.median(times),
        min(times),
        statistics.median(itimes),
        float((findices > 0).float().mean()),
        peak,
    )
    if ext is not None:
        etimes, (ef, _) = timed(lambda: ext.rasterize(pos, tri, (size, size)), device, repeat)
        row.extension_ms = statistics.median(etimes)
        covered = (ef > 0) | (findices > 0)
        row.extension_agreement = float((ef == findices)[covered].float().mean())
    return row


def load_extension(wanted: bool) -> Any:
    if not wanted:
        return None
    try:
        import custom_rasterizer
    except ImportError:
        return None
    return custom_rasterizer


def write(rows: list[Row], args: argparse.Namespace, device: torch.device) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"rasterizer_{device.type}_{args.size}"
    env = {
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "repeat": args.repeat,
        "load_avg_1m_after": round(os.getloadavg()[0], 2),  # shared machines: read with care
    }
    stem.with_suffix(".json").write_text(
        json.dumps({"env": env, "rows": [asdict(r) for r in rows]}, indent=2)
    )
    stem.with_suffix(".md").write_text(table(rows, env))
    return stem


def table(rows: list[Row], env: dict[str, Any]) -> str:
    head = "| mesh | faces | view | size | median ms | min ms | interpolate ms | covered | peak MiB | extension ms | agreement |"
    lines = [f"Rasterizer benchmark: {json.dumps(env)}", "", head, "|" + "---|" * 11]
    for r in rows:
        ext_ms = "-" if r.extension_ms is None else f"{r.extension_ms:.1f}"
        agree = "-" if r.extension_agreement is None else f"{r.extension_agreement:.5f}"
        lines.append(
            f"| {r.mesh} | {r.faces} | {r.view} | {r.size} | {r.ms_median:.1f} | {r.ms_min:.1f} | "
            f"{r.interpolate_ms:.1f} | {r.covered_fraction:.3f} | {r.peak_mib:.0f} | {ext_ms} | {agree} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--size", type=int, default=512, help="image side in pixels")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case")
    parser.add_argument("--meshes", default=",".join(FACE_COUNTS), help="subset of 10k,40k,200k")
    parser.add_argument("--no-extension", action="store_true", help="do not time custom_rasterizer")
    args = parser.parse_args()
    device = torch.device(args.device)
    ext = load_extension(not args.no_extension)
    rows = []
    for name in args.meshes.split(","):
        verts, faces = torus(*FACE_COUNTS[name])
        uv_pos, uv_faces = uv_layout(*FACE_COUNTS[name])
        for view, clip, idx in (("camera", view_clip(verts), faces), ("uv", uv_pos, uv_faces)):
            pos = torch.from_numpy(clip)[None].to(device)
            tri = torch.from_numpy(idx).to(device)
            rows.append(bench_case(name, view, pos, tri, args.size, args.repeat, ext))
            print(table(rows[-1:], {}).splitlines()[-1], flush=True)
    stem = write(rows, args, device)
    print(table(rows, {"saved": str(stem)}))


if __name__ == "__main__":
    main()
