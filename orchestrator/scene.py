"""The job's scene: every finished object as a named node, placed where it stands in the
photo, each with its own texture (scene.glb).

Frames (see `meshpipe.frontview`): an object's mesh lives in its crop's front view (the
crop centred, its longer side spanning [-1, 1]); the scene lives in the photo's front view
(the photo centred, its longer side spanning [-1, 1]). A crop pixel is a photo pixel moved
by the crop's corner, so one uniform scale (the ratio of the two views' units per pixel)
and one translation (the crop centre's place in the photo frame) carry the mesh over,
front silhouette on the object in the photo; depth 0 is the photo plane.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import numpy as np
import trimesh

from meshpipe.frontview import FrontView
from orchestrator.domain import Artifact, Box
from orchestrator.meshes import base_colour_texture, fast_png, load_meshes


@dataclass(frozen=True)
class Placed:
    """One finished object of the scene."""

    index: int
    name: str  # node name: "<index>_<label>"
    crop_box: Box
    glb: bytes  # its final GLB (kept as bytes: a fraction of the decoded mesh's memory)
    meshes: list[trimesh.Trimesh] | None = None  # the GLB already read, used once


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


def build_scene(objects: list[Placed], width: int, height: int) -> bytes:
    """GLB of every object as a named node (blocking)."""
    scene = trimesh.Scene()
    for obj in sorted(objects, key=lambda o: o.index):
        transform = placement(obj.crop_box, width, height)
        for part, mesh in enumerate(obj.meshes or load_meshes(obj.glb)):
            name = obj.name if part == 0 else f"{obj.name}.{part}"
            fast_png(base_colour_texture(mesh))  # re-encoding textures is most of the cost
            scene.add_geometry(mesh, node_name=name, geom_name=name, transform=transform)
    scene.metadata.update(FrontView(width, height).to_extras())
    return bytes(scene.export(file_type="glb"))


class SceneAssembler:
    """Rebuilds a job's scene as objects finish. Rebuilds never overlap; objects finishing
    during a rebuild are all taken by the next one (one rebuild, not one each)."""

    def __init__(
        self, width: int, height: int, write: Callable[[bytes], Awaitable[Artifact]]
    ) -> None:
        self._width, self._height = width, height
        self._write = write
        self._objects: dict[int, Placed] = {}
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
            # read meshes serve one build; later builds re-read the bytes (less memory held)
            self._objects = {o.index: replace(o, meshes=None) for o in objects}
            data = await asyncio.to_thread(build_scene, objects, self._width, self._height)
            self.artifact = await self._write(data)
            return self.artifact
