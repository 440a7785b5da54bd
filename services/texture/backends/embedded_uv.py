"""Embedded texture backend: UV atlas with xatlas.

Two ways to cut charts, both packed by xatlas into one atlas of about the texture's size:
* "xatlas": xatlas segments the surface itself (works for any mesh; the slow part).
* "front-back": the front-facing (normal z >= 0) and back-facing faces are planar charts,
  projected along z (the back mirrored); xatlas only packs them. Texel density then follows
  the crop's pixels, which is exact for a front-projection bake, and it is fast.
xatlas splits vertices along chart seams: `source` maps each new vertex to its original.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import trimesh
import xatlas

_FILL = 0.8  # charts are scaled to cover about this fraction of the texture's side squared


@dataclass(frozen=True)
class Atlas:
    """A mesh re-indexed for its UV atlas."""

    source: np.ndarray  # int64 [V'], original vertex of each atlas vertex
    faces: np.ndarray  # int64 [F, 3], triangles over atlas vertices (same order as the input)
    uv: np.ndarray  # float32 [V', 2] in [0, 1], v up (OpenGL / trimesh convention)


def unwrap(
    mesh: trimesh.Trimesh, size: int, charts: Literal["xatlas", "front-back"], padding: int
) -> Atlas:
    """UV atlas for a texture of `size` x `size` texels."""
    seeds: np.ndarray | None = None
    vertices = np.asarray(mesh.vertices, dtype=np.float32)
    faces = np.asarray(mesh.faces, dtype=np.uint32)
    chart_area = float(mesh.area)
    if charts == "front-back":
        vertices, faces, seeds = _front_back_seeds(mesh)
        chart_area = _planar_area(seeds, faces)
    atlas = xatlas.Atlas()
    atlas.add_mesh(vertices, faces, None, seeds)
    chart_options = xatlas.ChartOptions()
    chart_options.use_input_mesh_uvs = seeds is not None
    pack_options = xatlas.PackOptions()
    pack_options.padding = padding
    pack_options.bilinear = True
    pack_options.texels_per_unit = _texels_per_unit(chart_area, size)
    atlas.generate(chart_options, pack_options)
    mapping, indices, uv = atlas[0]
    source = np.asarray(mapping, dtype=np.int64) % len(mesh.vertices)
    return Atlas(source, np.asarray(indices, dtype=np.int64), np.asarray(uv, dtype=np.float32))


def _texels_per_unit(area: float, size: int) -> float:
    """xatlas scale so that charts of `area` pack into about `size` texels on a side."""
    return _FILL * size / np.sqrt(max(area, 1e-12))


def _planar_area(uv: np.ndarray, faces: np.ndarray) -> float:
    """Total area of the triangles in the plane of `uv`."""
    a, b, c = (uv[faces[:, i]].astype(np.float64) for i in range(3))
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    return float(0.5 * np.abs(cross).sum())


def _front_back_seeds(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices doubled for the two sides, faces re-indexed, planar seed UVs (back mirrored)."""
    vertices = np.asarray(mesh.vertices, dtype=np.float32)
    back = mesh.face_normals[:, 2] < 0
    faces = np.where(back[:, None], mesh.faces + len(vertices), mesh.faces)
    doubled = np.concatenate([vertices, vertices])
    seeds = np.concatenate(
        [vertices[:, :2], vertices[:, :2] * np.array([-1.0, 1.0], dtype=np.float32)]
    )
    return doubled, faces.astype(np.uint32), seeds
