"""The job's scene: every finished object as a named node, placed where it stands in the
photo, each with its own texture (scene.glb).

Frames (see `meshpipe.frontview`): an object's mesh lives in its crop's front view (the
crop centred, its longer side spanning [-1, 1]); the scene lives in the photo's front view
(the photo centred, its longer side spanning [-1, 1]). A crop pixel is a photo pixel moved
by the crop's corner, so one uniform scale (the ratio of the two views' units per pixel)
and one translation (the crop centre's place in the photo frame) carry the mesh over,
front silhouette on the object in the photo; depth 0 is the photo plane.

Textures: trimesh re-encodes every texture image on export, which would make each rebuild
cost one PNG encode per object. Each object's texture is therefore encoded once per job
(`SceneParts`); the scene is exported with 1 x 1 stand-in images, and trimesh's
`buffer_postprocessor` hook swaps each stand-in's bytes for the cached PNG before the
buffer views are laid out. Only base-colour textures are carried (what meshpipe's texture
stages write).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import trimesh
from PIL import Image

from meshpipe.frontview import FrontView
from meshpipe.images import encode_png
from orchestrator.domain import Artifact, Box
from orchestrator.meshes import base_colour_texture, load_meshes


@dataclass(frozen=True)
class Placed:
    """One finished object of the scene."""

    index: int
    name: str  # node name: "<index>_<label>"
    crop_box: Box
    glb: bytes  # its final GLB
    meshes: list[trimesh.Trimesh] | None = None  # the GLB already read, if it was


def placement(crop: Box, width: int, height: int) -> np.ndarray:
    """4x4 transform from a crop's front-view frame to the photo's (width x height)."""
    photo = FrontView(width, height)
    own = FrontView(int(crop.width), int(crop.height))
    scale = photo.units_per_pixel / own.units_per_pixel
    x, y = photo.pixels_to_xy(
        np.array([(crop.x1 + crop.x2) / 2]), np.array([(crop.y1 + crop.y2) / 2])
    )
    matrix = np.diag([scale, scale, scale, 1.0])
    matrix[:3, 3] = [float(x[0]), float(y[0]), 0.0]
    return matrix


def build_scene(
    objects: list[Placed], width: int, height: int, parts: SceneParts | None = None
) -> bytes:
    """GLB of every object as a named node (blocking); `parts` keeps each object's prepared
    meshes and encoded textures from one build to the next."""
    parts = parts or SceneParts()
    scene = trimesh.Scene()
    for obj in sorted(objects, key=lambda o: o.index):
        transform = placement(obj.crop_box, width, height)
        for part, mesh in enumerate(parts.prepare(obj)):
            name = obj.name if part == 0 else f"{obj.name}.{part}"
            scene.add_geometry(mesh, node_name=name, geom_name=name, transform=transform)
    scene.metadata.update(FrontView(width, height).to_extras())
    return bytes(trimesh.exchange.gltf.export_glb(scene, buffer_postprocessor=parts.swap))


class SceneParts:
    """Each object's meshes as the scene uses them, made once per job: geometry and UVs
    with a 1 x 1 stand-in texture whose colour numbers the object's real texture, kept
    encoded as PNG. Not thread-safe: one build at a time."""

    def __init__(self) -> None:
        self._meshes: dict[int, list[trimesh.Trimesh]] = {}
        self._pngs: list[bytes] = []

    def prepare(self, obj: Placed) -> list[trimesh.Trimesh]:
        """The object's scene meshes (its GLB is read and its textures encoded once)."""
        if obj.index not in self._meshes:
            meshes = obj.meshes or load_meshes(obj.glb, decode=False)
            self._meshes[obj.index] = [self._stand_in(m) for m in meshes]
        return self._meshes[obj.index]

    def _stand_in(self, mesh: trimesh.Trimesh) -> trimesh.Trimesh:
        """A mesh sharing `mesh`'s geometry and UVs, textured with a stand-in (`mesh` itself
        is left alone: other threads may be reading it)."""
        texture = base_colour_texture(mesh)
        visual = mesh.visual
        if texture is None or not isinstance(visual, trimesh.visual.TextureVisuals):
            return mesh
        n = len(self._pngs)
        self._pngs.append(encode_png(texture, compress_level=1))
        material = visual.material
        return trimesh.Trimesh(
            vertices=mesh.vertices,
            faces=mesh.faces,
            vertex_normals=mesh.vertex_normals,
            visual=trimesh.visual.TextureVisuals(
                uv=visual.uv,
                material=trimesh.visual.material.PBRMaterial(
                    name=getattr(material, "name", None),
                    baseColorTexture=Image.new("RGB", (1, 1), (n & 255, n >> 8 & 255, n >> 16)),
                    baseColorFactor=getattr(material, "baseColorFactor", None),
                    metallicFactor=getattr(material, "metallicFactor", None),
                    roughnessFactor=getattr(material, "roughnessFactor", None),
                ),
            ),
            process=False,
        )

    def swap(self, buffer_items: Any, tree: dict[str, Any]) -> None:
        """trimesh's buffer_postprocessor: each stand-in image's bytes -> the real PNG."""
        keys = list(buffer_items.keys())
        for image in tree.get("images", []):
            key = keys[image["bufferView"]]
            with Image.open(io.BytesIO(buffer_items[key])) as stand_in:
                r, g, b = stand_in.convert("RGB").getpixel((0, 0))  # type: ignore[misc]
            real = self._pngs[r | g << 8 | b << 16]
            buffer_items[key] = real + b"\0" * (-len(real) % 4)  # 4-byte aligned, as trimesh
            image["mimeType"] = "image/png"


class SceneAssembler:
    """Rebuilds a job's scene as objects finish. Rebuilds never overlap; objects finishing
    during a rebuild are all taken by the next one (one rebuild, not one each)."""

    def __init__(
        self, width: int, height: int, write: Callable[[bytes], Awaitable[Artifact]]
    ) -> None:
        self._width, self._height = width, height
        self._write = write
        self._objects: dict[int, Placed] = {}
        self._parts = SceneParts()
        self._lock = asyncio.Lock()
        self._added = 0
        self._built = 0
        self.artifact: Artifact | None = None

    def add(self, obj: Placed) -> None:
        """An object to include from the next rebuild on."""
        self._objects[obj.index] = obj
        self._added += 1

    async def rebuild(self) -> Artifact | None:
        """Make sure the scene holds every object added so far; the scene's artifact."""
        wanted = self._added
        async with self._lock:
            if self._built >= wanted:
                return self.artifact
            objects, self._built = list(self._objects.values()), self._added
            data = await asyncio.to_thread(
                build_scene, objects, self._width, self._height, self._parts
            )
            # prepared once: drop the read meshes and GLB bytes (the parts keep what is used);
            # objects added during this build stay as they are, for the next one
            for o in objects:
                self._objects[o.index] = replace(o, meshes=None, glb=b"")
            self.artifact = await self._write(data)
            return self.artifact
