"""Embedded texture backend: reading the shape stage's GLB and writing the textured one."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import trimesh
from PIL import Image

from meshpipe.errors import InvalidInput
from services.texture.backends.embedded_uv import Atlas


def read_mesh(glb: bytes, max_faces: int) -> tuple[trimesh.Trimesh, dict[str, Any]]:
    """The GLB's triangles as one mesh (node transforms applied) and its scene extras."""
    if not glb:
        raise InvalidInput("mesh_glb is empty (0 bytes)")
    try:
        scene = trimesh.load_scene(io.BytesIO(glb), file_type="glb", process=False)
        baked = scene.to_mesh()  # every instance, node transforms applied
    except Exception as exc:  # trimesh raises many types for malformed files
        raise InvalidInput(f"mesh_glb is not a readable GLB: {type(exc).__name__}") from None
    if len(baked.faces) == 0:
        raise InvalidInput("mesh_glb holds no triangles")
    mesh = trimesh.Trimesh(baked.vertices, baked.faces, process=True)  # merge by position
    if len(mesh.faces) > max_faces:
        raise InvalidInput(
            f"mesh has {len(mesh.faces)} triangles, over the limit of {max_faces}: decimate it"
        )
    return mesh, dict(scene.metadata)


def write_glb(
    mesh: trimesh.Trimesh, atlas: Atlas, texture: Image.Image, extras: dict[str, Any]
) -> bytes:
    """GLB of the atlas mesh with a PBR base-colour texture; normals come from the unsplit
    mesh so that UV seams do not show in the shading."""
    material = trimesh.visual.material.PBRMaterial(
        name="baked",
        baseColorTexture=texture,
        metallicFactor=0.0,
        roughnessFactor=0.9,
    )
    out = trimesh.Trimesh(
        vertices=mesh.vertices[atlas.source],
        faces=atlas.faces,
        vertex_normals=mesh.vertex_normals[atlas.source],
        visual=trimesh.visual.TextureVisuals(uv=atlas.uv, material=material),
        process=False,
    )
    scene = trimesh.Scene()
    scene.add_geometry(out, geom_name="object")
    scene.metadata.update(_json_extras(extras))
    buf = io.BytesIO()
    scene.export(buf, file_type="glb", include_normals=True)
    return buf.getvalue()


def _json_extras(extras: dict[str, Any]) -> dict[str, Any]:
    """The scene extras worth carrying over (JSON values only)."""
    keep = (str, int, float, bool, list, dict, type(None), np.floating, np.integer)
    return {k: v for k, v in extras.items() if isinstance(k, str) and isinstance(v, keep)}
