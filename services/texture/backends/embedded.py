"""Embedded texture backend: UV atlas (xatlas) + front-projection bake, no weights.

parse the GLB -> UV-unwrap -> rasterise the triangles in UV space -> project each texel's 3D
position onto the crop (front orthographic view, `meshpipe.frontview`) and sample its colour
-> bleed colours across UV seams -> GLB with a PBR base-colour texture.
"""

from __future__ import annotations

import numpy as np
import trimesh
from PIL import Image, ImageDraw

from meshpipe.frontview import FrontView
from meshpipe.raster import rasterize
from meshpipe.runtime.backend import BackendInfo
from meshpipe.runtime.steps import StepTimer
from services.texture.backends import TextureBackend, TextureRequest, TextureResult
from services.texture.backends.embedded_bake import (
    bleed,
    object_colours,
    object_mask,
    projection_for,
    sample,
)
from services.texture.backends.embedded_glb import read_mesh, write_glb
from services.texture.backends.embedded_uv import Atlas, unwrap


class EmbeddedTextureBackend(TextureBackend):
    """Bakes the crop onto the mesh by projection; deterministic, CPU only."""

    @property
    def info(self) -> BackendInfo:
        return BackendInfo("embedded-projection", "none", "cpu")

    def load(self) -> None:
        """Nothing to load: the algorithm has no weights."""

    def unload(self) -> None:
        """Nothing to drop."""

    def warmup(self) -> None:
        sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.8)
        image = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
        ImageDraw.Draw(image).ellipse((3, 3, 29, 29), fill=(90, 160, 220, 255))
        glb = sphere.export(file_type="glb")
        self.paint(TextureRequest(glb, image, self.settings.min_texture_size))

    def paint(self, request: TextureRequest) -> TextureResult:
        size = self.resolve(request).texture_size
        clock = StepTimer()
        mask = object_mask(request.image)
        mesh, extras = read_mesh(request.mesh_glb, self.settings.max_faces)
        view = FrontView.from_extras(extras)
        project = projection_for(view, mesh.bounds, request.image.size, mask)
        clock.lap("parse")
        charts = self.settings.uv_charts
        if charts == "auto":
            charts = "front-back" if view is not None else "xatlas"
        atlas = unwrap(mesh, size, charts, self.settings.uv_padding)
        clock.lap("uv_wrap")
        texel_tris = _texel_triangles(atlas, size)
        fragments = rasterize(texel_tris, size, size)
        clock.lap("rasterize_uv")
        corners = mesh.vertices[atlas.source][atlas.faces[fragments.face]]
        points = np.einsum("nk,nkd->nd", fragments.bary, corners)
        colours = sample(object_colours(request.image, mask), *project(points))
        texture = np.zeros((size * size, 3), dtype=np.float32)
        texture[fragments.pixel] = colours
        clock.lap("bake")
        covered = fragments.coverage(size, size)
        filled = bleed(texture.reshape(size, size, 3), covered)
        image = Image.fromarray(np.clip(filled + 0.5, 0, 255).astype(np.uint8), "RGB")
        clock.lap("dilate")
        glb = write_glb(mesh, atlas, image, extras)
        clock.lap("export")
        return TextureResult(glb, size, len(atlas.source), len(atlas.faces), clock.seconds)


def _texel_triangles(atlas: Atlas, size: int) -> np.ndarray:
    """UV triangles [F, 3, 2] in texel coordinates (column, row); row 0 is the image's top."""
    texel = np.column_stack([atlas.uv[:, 0] * size, (1.0 - atlas.uv[:, 1]) * size])
    return texel[atlas.faces]
