"""Embedded shape backend: silhouette inflation, no weights (docs/design.md §Pipeline).

matte -> signed distance -> Poisson height field -> mirror-symmetric volume -> marching
cubes -> Taubin smoothing -> optional decimation -> GLB. Coordinates follow
`meshpipe.frontview`: x right, y up, z towards the viewer, the crop's longer side spanning
[-1, 1], so the front orthographic view of the mesh lines up with the crop's pixels.
"""

from __future__ import annotations

import importlib.util

from PIL import Image, ImageDraw

from meshpipe.errors import FailedPrecondition
from meshpipe.runtime.backend import BackendInfo
from meshpipe.runtime.steps import StepTimer
from services.shape.backends import ShapeBackend, ShapeRequest, ShapeResult
from services.shape.backends.embedded_inflate import inflate
from services.shape.backends.embedded_matte import silhouette_from_rgba
from services.shape.backends.embedded_mesh import decimate, smooth, to_glb, to_mesh

_MIN_WORK_SIDE = 256  # the matte is resampled to at most max(this, 2 x resolution) pixels


class EmbeddedShapeBackend(ShapeBackend):
    """Lifts the matte into a closed mesh by inflation; deterministic, CPU only."""

    @property
    def info(self) -> BackendInfo:
        return BackendInfo("embedded-inflate", "none", "cpu")

    def load(self) -> None:
        """No weights; checks that decimation can run when it is enabled."""
        if self.settings.max_faces > 0 and importlib.util.find_spec("fast_simplification") is None:
            raise FailedPrecondition(
                "mesh decimation needs the fast-simplification package (the shape extra); "
                "install it or set MESHPIPE_SHAPE_MAX_FACES=0"
            )

    def unload(self) -> None:
        """Nothing to drop."""

    def warmup(self) -> None:
        image = Image.new("RGBA", (48, 48), (0, 0, 0, 0))
        ImageDraw.Draw(image).ellipse((8, 8, 40, 40), fill=(200, 120, 60, 255))
        self.generate(ShapeRequest(image, octree_resolution=self.settings.min_octree_resolution))

    def generate(self, request: ShapeRequest) -> ShapeResult:
        resolution = self.resolve(request).octree_resolution
        clock = StepTimer()
        silhouette = silhouette_from_rgba(
            request.image,
            max(_MIN_WORK_SIDE, 2 * resolution),
            self.settings.min_component_fraction,
        )
        clock.lap("silhouette")
        points, faces = inflate(silhouette, resolution, self.settings.inflation)
        clock.lap("marching_cubes")
        mesh = to_mesh(points, faces, silhouette.view)
        smooth(mesh, self.settings.smoothing_iterations)
        clock.lap("smooth")
        mesh = decimate(mesh, self.face_budget(request), closed=not request.target_faces)
        clock.lap("decimate")
        glb = to_glb(mesh, silhouette.view)
        clock.lap("export")
        return ShapeResult(
            glb, len(mesh.vertices), len(mesh.faces), mesh.is_watertight, clock.seconds
        )
