"""Production texture backend "hunyuan-paint": Hunyuan3D-2 Paint (`hy3dgen.texgen`, docs/design.md §Pipeline).

Thin: parses the request, delegates to `services.texture.paint.engine.PaintEngine` (delight
+ multiview diffusion, bake, inpaint on hy3dgen's own code, with a pure-PyTorch rasteriser
where the compiled one is absent) and converts the result.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from meshpipe.runtime.backend import BackendInfo, DeviceMemory
from meshpipe.weights import WeightsSpec
from services.texture.backends import TextureBackend, TextureRequest, TextureResult
from services.texture.backends.embedded_glb import read_mesh
from services.texture.paint.engine import PaintEngine
from services.texture.paint.settings import PaintSettings, from_stage_settings
from services.texture.paint.weights import weights_spec
from services.texture.settings import TextureSettings

_WARMUP_TEXTURE = 256


def weights_specs(settings: TextureSettings) -> list[WeightsSpec]:
    """What the backend needs on disk (for `meshpipe weights` and backend=auto)."""
    return [weights_spec(from_stage_settings(settings))]


class HunyuanPaintBackend(TextureBackend):
    """Hunyuan3D-2 Paint served from a local HY3DGEN_MODELS folder."""

    def __init__(self, settings: TextureSettings, paint: PaintSettings | None = None) -> None:
        super().__init__(settings)
        self.engine = PaintEngine(paint or from_stage_settings(settings))

    @property
    def info(self) -> BackendInfo:
        return self.engine.info

    @property
    def footprint_bytes(self) -> int:
        return self.engine.footprint_bytes

    def load(self) -> None:
        self.engine.load()

    def warmup(self) -> None:
        """One full paint of a small sphere with one diffusion step per model."""
        import trimesh

        image = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
        ImageDraw.Draw(image).ellipse((16, 16, 112, 112), fill=(180, 120, 90, 255))
        sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.8)
        with self.engine.with_steps(1):
            self.engine.paint(sphere, {}, image, _WARMUP_TEXTURE, 0)

    def park(self) -> None:
        self.engine.park()

    def wake(self) -> None:
        self.engine.wake()

    def unload(self) -> None:
        self.engine.unload()

    def memory(self) -> DeviceMemory:
        return self.engine.memory()

    def reset_peak_memory(self) -> None:
        self.engine.reset_peak_memory()

    def texture_side(self, requested: int) -> int:
        """0 means the paint settings' size (its profile's); others are validated."""
        return self._texture_side(requested, self.engine.settings.texture_size)

    def paint(self, request: TextureRequest) -> TextureResult:
        size = self.resolve(request).texture_size
        mesh, extras = read_mesh(request.mesh_glb, self.settings.max_faces)
        out = self.engine.paint(mesh, extras, request.image, size, request.seed)
        return TextureResult(out.glb, size, out.vertex_count, out.face_count, out.step_seconds)
