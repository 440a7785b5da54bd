"""Texture backends: what every one implements, and the dispatch on `settings.backend`.

A production backend is one more module (or package) next to this one plus one line in
`_BACKENDS`; it is imported only when selected, so its heavy dependencies stay out of the
other deployments.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field, replace

from PIL import Image

from meshpipe.options import TEXTURE_SIZE
from meshpipe.runtime.backend import Backend
from meshpipe.runtime.registry import build_backend_from
from services.texture.settings import TextureSettings


@dataclass(frozen=True)
class TextureRequest:
    """A mesh to paint and the RGBA object image it was made from; 0 = the stage's default
    until the backend's `resolve` has filled it (`resolved`)."""

    mesh_glb: bytes
    image: Image.Image
    texture_size: int = 0
    seed: int = 0
    resolved: bool = False


@dataclass(frozen=True)
class TextureResult:
    """The mesh with UVs and a base-colour texture, as GLB bytes."""

    glb: bytes
    texture_size: int
    vertex_count: int
    face_count: int
    step_seconds: dict[str, float] = field(default_factory=dict)


class TextureBackend(Backend):
    """A backend that paints one mesh from its object image."""

    def __init__(self, settings: TextureSettings) -> None:
        self.settings = settings

    @abstractmethod
    def paint(self, request: TextureRequest) -> TextureResult:
        """Textured GLB for `request.mesh_glb`, coloured from `request.image`."""

    def resolve(self, request: TextureRequest) -> TextureRequest:
        """`request` with its texture size resolved, once (0 = the default, others checked
        against meshpipe.options' table within this stage's limits). Needs no model, so the
        servicer calls it before any load; a request already resolved is returned as it is."""
        if request.resolved:
            return request
        side = self.texture_side(request.texture_size)
        return replace(request, texture_size=side, resolved=True)

    def texture_side(self, requested: int) -> int:
        """The texture side to use: the default for 0, else a validated request."""
        return self._texture_side(requested, self.settings.texture_size)

    def _texture_side(self, requested: int, default: int) -> int:
        """`requested`, or `default` for 0, through the knob table of meshpipe.options
        within this stage's [min_texture_size, max_texture_size]."""
        s = self.settings
        return int(TEXTURE_SIZE.resolve(requested, default, s.min_texture_size, s.max_texture_size))


# backend id -> "module:Class", imported on selection.
_BACKENDS = {
    "embedded": "services.texture.backends.embedded:EmbeddedTextureBackend",
    "hunyuan-paint": "services.texture.backends.hunyuan_paint:HunyuanPaintBackend",
}


def build_backend(settings: TextureSettings) -> TextureBackend:
    """The backend named by `settings.backend` (or `auto`)."""
    backend: TextureBackend = build_backend_from("texture", settings, _BACKENDS, TextureBackend)
    return backend
