"""Shape backends: what every one implements, and the dispatch on `settings.backend`.

A production backend is one more module in this package plus one line in `_BACKENDS`; the
module is imported only when its backend is selected, so its heavy dependencies stay out of
the other deployments.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from PIL import Image

from meshpipe.errors import InvalidInput, MeshpipeError
from meshpipe.options import OCTREE_RESOLUTION
from meshpipe.runtime.backend import Backend
from meshpipe.runtime.registry import build_backend_from
from services.shape.settings import ShapeSettings

MIN_TARGET_FACES = 100
"""Smallest target_faces a request may ask for (a closed mesh needs a few hundred)."""


@dataclass(frozen=True)
class ShapeRequest:
    """One object to lift into a mesh; zero knobs mean the stage's default until the
    backend's `resolve` has filled them (`resolved`)."""

    image: Image.Image
    seed: int = 0
    steps: int = 0
    octree_resolution: int = 0
    guidance_scale: float = 0.0
    resolved: bool = False
    target_faces: int = 0


@dataclass(frozen=True)
class ShapeResult:
    """A closed, untextured mesh as GLB bytes."""

    glb: bytes
    vertex_count: int
    face_count: int
    watertight: bool
    step_seconds: dict[str, float] = field(default_factory=dict)


class ShapeBackend(Backend):
    """A backend that turns one RGBA object image into a mesh."""

    def __init__(self, settings: ShapeSettings) -> None:
        self.settings = settings

    @abstractmethod
    def generate(self, request: ShapeRequest) -> ShapeResult:
        """Mesh for `request.image` (RGBA, alpha = matte)."""

    def generate_batch(self, requests: Sequence[ShapeRequest]) -> list[ShapeResult | MeshpipeError]:
        """One result per request, in order; a request that fails with a typed error gets
        that error in its slot and never fails its siblings.

        This default runs `generate` once per request; a backend whose model takes a batch
        overrides it to run the requests in one model call."""
        results: list[ShapeResult | MeshpipeError] = []
        for request in requests:
            try:
                results.append(self.generate(request))
            except MeshpipeError as exc:
                results.append(exc)
        return results

    def resolve(self, request: ShapeRequest) -> ShapeRequest:
        """`request` with every knob this backend uses resolved, once: 0 replaced by the
        default, others checked (InvalidInput) against the knob table of meshpipe.options as
        this stage's settings configure it. Needs no model, so the servicer calls it before
        any load; a request already resolved is returned as it is."""
        if request.resolved:
            return request
        return replace(self._resolve_knobs(request), resolved=True)

    def _resolve_knobs(self, request: ShapeRequest) -> ShapeRequest:
        """The knobs every backend uses (the grid resolution); backends add theirs."""
        return replace(request, octree_resolution=self.resolution(request.octree_resolution))

    def face_budget(self, request: ShapeRequest) -> int:
        """Triangles to decimate to: the request's target, else the stage's max_faces."""
        return request.target_faces or self.settings.max_faces

    def resolution(self, requested: int) -> int:
        """The grid resolution to use: the default for 0, else a validated request."""
        s = self.settings
        return int(
            OCTREE_RESOLUTION.resolve(
                requested, s.octree_resolution, s.min_octree_resolution, s.max_octree_resolution
            )
        )


def check_target_faces(target_faces: int) -> int:
    """A request's target_faces: 0 (none) or at least MIN_TARGET_FACES."""
    if 0 < target_faces < MIN_TARGET_FACES:
        raise InvalidInput(
            f"target_faces {target_faces} is too small: 0 (none) or at least {MIN_TARGET_FACES}"
        )
    return target_faces


# backend id -> "module:Class", imported on selection.
_BACKENDS = {
    "embedded": "services.shape.backends.embedded:EmbeddedShapeBackend",
    "hunyuan3d": "services.shape.backends.hunyuan:HunyuanShapeBackend",
}


def build_backend(settings: ShapeSettings) -> ShapeBackend:
    """The backend named by `settings.backend` (or `auto`)."""
    backend: ShapeBackend = build_backend_from("shape", settings, _BACKENDS, ShapeBackend)
    return backend
