"""A front orthographic render of a textured GLB, for checking a bake against its crop."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import trimesh
from PIL import Image

from meshpipe.frontview import FrontView
from meshpipe.raster import rasterize


@dataclass(frozen=True)
class Textured:
    """The one textured mesh of a GLB, as trimesh re-loads it."""

    mesh: trimesh.Trimesh
    uv: np.ndarray  # [V, 2], v up
    texture: Image.Image
    extras: dict


def load_textured(glb: bytes) -> Textured:
    scene = trimesh.load_scene(io.BytesIO(glb), file_type="glb")
    (mesh,) = scene.geometry.values()
    assert isinstance(mesh, trimesh.Trimesh)
    visual = mesh.visual
    assert isinstance(visual, trimesh.visual.TextureVisuals)
    assert visual.uv is not None and len(visual.uv) == len(mesh.vertices)
    material = visual.material
    assert isinstance(material, trimesh.visual.material.PBRMaterial)
    texture = material.baseColorTexture
    assert isinstance(texture, Image.Image)
    return Textured(mesh, np.asarray(visual.uv), texture, dict(scene.metadata))


def front_render(textured: Textured, view: FrontView) -> tuple[np.ndarray, np.ndarray]:
    """(float RGB [H, W, 3], covered [H, W]) of the mesh seen from the front, each pixel
    coloured by the texture at the front-most surface point."""
    mesh = textured.mesh
    cols, rows = view.xy_to_pixels(mesh.vertices[:, 0], mesh.vertices[:, 1])
    triangles = np.stack([cols, rows], axis=1)[mesh.faces]
    fragments = rasterize(triangles, view.height, view.width, mesh.vertices[:, 2][mesh.faces])
    uv = np.einsum("nk,nkd->nd", fragments.bary, textured.uv[mesh.faces[fragments.face]])
    texels = np.asarray(textured.texture.convert("RGB"), dtype=np.float32)
    size_y, size_x = texels.shape[:2]
    tx = np.clip((uv[:, 0] * size_x).astype(int), 0, size_x - 1)
    ty = np.clip(((1.0 - uv[:, 1]) * size_y).astype(int), 0, size_y - 1)
    image = np.zeros((view.height * view.width, 3), dtype=np.float32)
    image[fragments.pixel] = texels[ty, tx]
    return image.reshape(view.height, view.width, 3), fragments.coverage(view.height, view.width)
