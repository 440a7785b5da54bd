"""UV atlases: inside the unit square, one texel per surface point, geometry unchanged."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
import trimesh

from meshpipe.raster import rasterize
from services.shape.backends import ShapeRequest, build_backend
from services.shape.settings import ShapeSettings
from services.texture.backends.embedded_glb import read_mesh
from services.texture.backends.embedded_uv import unwrap
from tests.unit.shape import crops

SIZE = 512


@pytest.fixture(scope="module")
def ring_mesh() -> trimesh.Trimesh:
    backend = build_backend(ShapeSettings.model_validate({"max_faces": 4000}))
    result = backend.generate(ShapeRequest(crops.synthetic(crops.ring()), octree_resolution=48))
    return read_mesh(result.glb, max_faces=10**6)[0]


@pytest.mark.parametrize("charts", ["xatlas", "front-back"])
def test_atlas_is_overlap_free_and_keeps_the_geometry(
    ring_mesh: trimesh.Trimesh, charts: Literal["xatlas", "front-back"]
) -> None:
    atlas = unwrap(ring_mesh, SIZE, charts, padding=2)

    assert np.allclose(ring_mesh.vertices[atlas.source][atlas.faces], ring_mesh.triangles)
    assert atlas.uv.min() >= 0.0 and atlas.uv.max() <= 1.0

    texel = np.column_stack([atlas.uv[:, 0], 1.0 - atlas.uv[:, 1]]) * SIZE
    triangles = texel[atlas.faces]
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    area = 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    covered = len(rasterize(triangles, SIZE, SIZE).pixel)
    # Overlapping charts would cover fewer texels than their summed area.
    assert covered == pytest.approx(area.sum(), rel=0.05)
    assert covered > 0.3 * SIZE * SIZE  # the atlas uses the texture, not a corner of it


def test_front_back_charts_follow_the_front_projection(ring_mesh: trimesh.Trimesh) -> None:
    atlas = unwrap(ring_mesh, SIZE, "front-back", padding=2)
    corners = ring_mesh.vertices[atlas.source][atlas.faces]  # [F, 3, 3]
    uv = atlas.uv[atlas.faces]  # [F, 3, 2]
    front = ring_mesh.face_normals[:, 2] > 0.5
    # Within a planar chart, uv is a similarity transform of (x, y): ratios of lengths agree.
    xy_len = np.linalg.norm(corners[front, 1, :2] - corners[front, 0, :2], axis=1)
    uv_len = np.linalg.norm(uv[front, 1] - uv[front, 0], axis=1)
    ratio = uv_len[xy_len > 1e-4] / xy_len[xy_len > 1e-4]
    assert np.ptp(ratio) < 0.01 * ratio.mean()
