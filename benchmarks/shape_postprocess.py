"""Benchmark of the shape stage's mesh post-processing (CPU work on every Hunyuan3D mesh).

The production path (`postprocess=true`) runs hy3dgen's post-processing filters
(floaters, degenerate faces, quadric face reduction; pymeshlab) in memory
(services/shape/backends/hunyuan_mesh.py); hy3dgen's own FloaterRemover,
DegenerateFaceRemover and FaceReducer run the same filters through temporary PLY files
they never delete; with `postprocess=false` the stage only decimates with
fast-simplification. This script times the three side by side in one run, counts the
temporary files each leaves behind, and measures how far meshpipe's result lies from
hy3dgen's (mean distance between their surfaces, both ways, as a share of the bounding
box diagonal; hy3dgen's row, its distance to itself, is the sampling floor) and the
share of thin faces (smallest angle under 10 degrees), on the kind of mesh the model hands over: a marching-cubes
surface of a smooth object (a mug: a hollow cylinder with a torus handle) plus two small
floaters, extracted on a grid of the octree resolutions the memory profiles use (192, 256,
384) in hy3dgen's box [-1.01, 1.01]^3, the way hy3dgen extracts it (scikit-image's
marching cubes). No model runs: random-weight GPU runs mesh a noise field, which says
nothing about the cost on a real surface.

    python benchmarks/shape_postprocess.py [--resolutions 192,256,384] [--max-faces 40000]

Prints a table and writes benchmarks/results/shape_postprocess.{md,json}. Timings are the
median of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

RESULTS = Path(__file__).resolve().parent / "results"
HY3DGEN = "hy3dgen's post-processor classes"
BOX = 1.01  # hy3dgen's bounds


@dataclass
class Row:
    octree: int
    raw_faces: int
    raw_components: int
    method: str
    seconds_median: float
    seconds_min: float
    faces: int
    components: int
    watertight: bool
    temp_files_left: int  # per call
    sliver_share: float  # faces whose smallest angle is under 10 degrees
    distance_to_hy3dgen: float | None  # mean surface distance / bbox diagonal


def mug_sdf(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Signed distance (approximately) of a mug with a handle and two floaters, y up."""
    radial = np.sqrt(x * x + z * z)
    wall = np.abs(radial - 0.42) - 0.05  # hollow cylinder, 0.1 thick
    height = np.abs(y) - 0.55
    body = np.maximum(wall, height)
    bottom = np.maximum(radial - 0.47, np.abs(y + 0.5) - 0.05)
    body = np.minimum(body, bottom)
    hx, hy = x - 0.55, y  # handle: torus in the x-y plane beside the body
    handle = np.sqrt((np.sqrt(hx * hx + hy * hy) - 0.25) ** 2 + z * z) - 0.05
    handle = np.maximum(handle, 0.40 - x)  # the outer part, joined to the wall
    shape = np.minimum(body, handle)
    for cx, cy, cz, r in ((-0.8, 0.8, 0.3, 0.04), (0.7, -0.8, -0.6, 0.03)):  # floaters
        shape = np.minimum(shape, np.sqrt((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2) - r)
    return shape


def raw_surface(octree: int) -> trimesh.Trimesh:
    """Marching cubes of the mug at hy3dgen's grid for this octree resolution."""
    from skimage import measure

    axis = np.linspace(-BOX, BOX, octree + 1, dtype=np.float32)
    volume = np.empty((octree + 1,) * 3, dtype=np.float32)
    for i, x in enumerate(axis):  # one slab at a time: 385^3 floats would be 4 arrays
        yy, zz = np.meshgrid(axis, axis, indexing="ij")
        volume[i] = mug_sdf(np.full_like(yy, x), yy, zz)
    verts, faces, _, _ = measure.marching_cubes(volume, level=0.0, method="lewiner")
    verts = verts * (2 * BOX / octree) - BOX
    return trimesh.Trimesh(verts, faces[:, ::-1], process=False)


def components(mesh: trimesh.Trimesh) -> int:
    return len(trimesh.graph.connected_components(mesh.face_adjacency, min_len=1))


def timed(
    fn: Callable[[], trimesh.Trimesh], repeat: int
) -> tuple[list[float], trimesh.Trimesh, int]:
    """Times of `repeat` calls, the last result, temporary files left per call."""
    times: list[float] = []
    result: trimesh.Trimesh | None = None
    with tempfile.TemporaryDirectory() as scratch:
        previous, tempfile.tempdir = tempfile.tempdir, scratch
        try:
            for _ in range(repeat):
                t0 = time.perf_counter()
                result = fn()
                times.append(time.perf_counter() - t0)
        finally:
            tempfile.tempdir = previous
        left = len(os.listdir(scratch)) // repeat
    assert result is not None
    return times, result, left


def surface_distance(a: trimesh.Trimesh, b: trimesh.Trimesh, samples: int = 100_000) -> float:
    """Mean distance between two surfaces (points sampled on each, nearest points on the
    other's samples, both ways), as a share of a's bounding-box diagonal. Sampling alone
    gives a floor: the hy3dgen row reports its distance to itself (other samples)."""
    from scipy.spatial import cKDTree

    pa = a.sample(samples, seed=np.random.default_rng(0))
    pb = b.sample(samples, seed=np.random.default_rng(1))
    mean = (cKDTree(pb).query(pa)[0].mean() + cKDTree(pa).query(pb)[0].mean()) / 2
    return float(mean / np.linalg.norm(a.extents))


def slivers(mesh: trimesh.Trimesh) -> float:
    """Share of faces whose smallest angle is under 10 degrees (thin triangles)."""
    smallest = mesh.face_angles.min(axis=1)
    return float((smallest < np.radians(10)).mean())


def hy3dgen_reference(mesh: trimesh.Trimesh, max_faces: int) -> trimesh.Trimesh:
    """hy3dgen's own post-processor classes, as its examples chain them."""
    from hy3dgen.shapegen import DegenerateFaceRemover, FaceReducer, FloaterRemover

    cleaned: Any = FloaterRemover()(mesh)
    cleaned = DegenerateFaceRemover()(cleaned)
    result: trimesh.Trimesh = FaceReducer()(cleaned, max_facenum=max_faces)
    return result


def run(octrees: list[int], max_faces: int, repeat: int) -> list[Row]:
    from meshpipe.torchcompat import ensure_torchvision
    from services.shape.backends.embedded_mesh import decimate
    from services.shape.backends.hunyuan_mesh import postprocess

    ensure_torchvision()  # hy3dgen.shapegen imports torchvision (see docs/backends.md)

    methods: dict[str, Callable[[trimesh.Trimesh], trimesh.Trimesh]] = {
        HY3DGEN: lambda m: hy3dgen_reference(m.copy(), max_faces),
        "meshpipe, face_reducer=quadric": lambda m: postprocess(m.copy(), max_faces, "quadric"),
        "meshpipe, face_reducer=fast": lambda m: postprocess(m.copy(), max_faces, "fast"),
        "fast-simplification decimation only": lambda m: decimate(m.copy(), max_faces),
    }
    rows: list[Row] = []
    for octree in octrees:
        mesh = raw_surface(octree)
        raw_parts = components(mesh)
        reference: trimesh.Trimesh | None = None
        for name, method in methods.items():
            times, out, left = timed(partial(method, mesh), repeat)
            if name == HY3DGEN:
                reference = out
            row = Row(
                octree,
                len(mesh.faces),
                raw_parts,
                name,
                statistics.median(times),
                min(times),
                len(out.faces),
                components(out),
                bool(out.is_watertight),
                left,
                slivers(out),
                None if reference is None else surface_distance(reference, out),
            )
            rows.append(row)
            sys.stdout.write(table_row(row) + "\n")
            sys.stdout.flush()
    return rows


def table_row(r: Row) -> str:
    distance = "-" if r.distance_to_hy3dgen is None else f"{r.distance_to_hy3dgen:.2e}"
    return (
        f"| {r.octree} | {r.raw_faces:,} | {r.raw_components} | {r.method} | "
        f"{r.seconds_median:.2f} | {r.seconds_min:.2f} | {r.faces:,} | {r.components} | "
        f"{'yes' if r.watertight else 'no'} | {100 * r.sliver_share:.1f} % | "
        f"{r.temp_files_left} | {distance} |"
    )


def machine() -> str:
    from importlib.metadata import version

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, pymeshlab {version('pymeshlab')}, "
        f"fast-simplification {version('fast-simplification')}, trimesh {trimesh.__version__}"
    )


def save(rows: list[Row], max_faces: int, repeat: int, where: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    header = (
        "| octree | raw faces | raw parts | method | median s | min s | faces | parts | "
        "watertight | slivers (< 10 deg) | temp files left | distance to hy3dgen's |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [
        f"Shape post-processing on the CPU ({where}); synthetic marching-cubes meshes (a mug "
        f"and two floaters), no model; max_faces {max_faces}; median of {repeat} runs.",
        "",
        header,
        *[table_row(r) for r in rows],
    ]
    md = RESULTS / "shape_postprocess.md"
    md.write_text("\n".join(lines) + "\n")
    payload: dict[str, Any] = {
        "machine": where,
        "max_faces": max_faces,
        "repeat": repeat,
        "rows": [asdict(r) for r in rows],
    }
    md.with_suffix(".json").write_text(json.dumps(payload, indent=1))
    return md


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", default="192,256,384")
    parser.add_argument("--max-faces", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    where = machine()
    sys.stdout.write(f"{where}\n")
    octrees = [int(v) for v in args.resolutions.split(",")]
    rows = run(octrees, args.max_faces, args.repeat)
    sys.stdout.write(f"wrote {save(rows, args.max_faces, args.repeat, where)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
