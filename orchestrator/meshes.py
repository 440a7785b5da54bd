"""Reading the stages' GLBs with trimesh, for the job-level outputs (scene, previews,
exports). Blocking: call these off the event loop."""

from __future__ import annotations

import io

import numpy as np
import trimesh
from PIL import Image

from meshpipe.errors import MeshpipeError
from meshpipe.render import Surface


def load_meshes(glb: bytes, *, decode: bool = True) -> list[trimesh.Trimesh]:
    """Every triangle mesh of a GLB, node transforms applied, materials kept; with `decode`,
    normals and textures are decoded now (several threads may read them next), else
    textures stay undecoded until used."""
    try:
        scene = trimesh.load_scene(io.BytesIO(glb), file_type="glb", process=False)
        meshes = [g for g in scene.dump() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
    except Exception as exc:  # trimesh raises many types for malformed files
        raise MeshpipeError(f"stage returned an unreadable GLB: {type(exc).__name__}") from None
    if not meshes:
        raise MeshpipeError("stage returned a GLB without triangles")
    for mesh in meshes if decode else ():
        _ = mesh.vertex_normals
        texture = base_colour_texture(mesh)
        if texture is not None:
            texture.load()
    return meshes


FAST_PNG = {"compress_level": 1}
"""Pillow encoder options for textures that trimesh re-encodes (scene, OBJ): level 1 takes
a quarter of the default level's time for ~20 % more bytes."""


def fast_png(texture: Image.Image | None) -> None:
    """Make trimesh's PNG re-encoding of this texture fast (Pillow reads `encoderinfo` as
    the defaults of every later `save`)."""
    if texture is not None:
        texture.encoderinfo = dict(FAST_PNG)


def base_colour_texture(mesh: trimesh.Trimesh) -> Image.Image | None:
    """The mesh's base-colour texture, if it has UVs and one."""
    visual = mesh.visual
    if not isinstance(visual, trimesh.visual.TextureVisuals) or visual.uv is None:
        return None
    material = visual.material
    image = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
    return image if isinstance(image, Image.Image) else None


def surface_of(mesh: trimesh.Trimesh) -> Surface:
    """The mesh as the preview renderer's Surface (textured when it has a texture)."""
    texture = base_colour_texture(mesh)
    visual = mesh.visual
    uv = None
    if texture is not None and isinstance(visual, trimesh.visual.TextureVisuals):
        uv = np.asarray(visual.uv, dtype=np.float64)
    return Surface(
        vertices=np.asarray(mesh.vertices, dtype=np.float64),
        faces=np.asarray(mesh.faces, dtype=np.int64),
        normals=np.asarray(mesh.vertex_normals, dtype=np.float64),
        uv=uv,
        texture=None if texture is None else np.asarray(texture.convert("RGB")),
    )
