"""Hunyuan3D-2 Paint served without compiled extensions: load, residency and one paint call.

The engine owns what hy3dgen hard-codes (docs/design.md §Testing without weights): the device and dtype, the render
and texture sizes, the cameras, the step counts and the seed, `trust_remote_code`, and the
rasteriser (the compiled `custom_rasterizer` when present, else `rasterizer`). Everything
else is hy3dgen's own code (see `painter`, `models`).
"""

from __future__ import annotations

import io
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from meshpipe import torchdevice
from meshpipe.errors import FailedPrecondition, InvalidInput, ResourceExhausted
from meshpipe.profiles import device_total_bytes
from meshpipe.runtime.backend import BackendInfo, DeviceMemory
from meshpipe.runtime.steps import StepTimer
from meshpipe.torchcompat import ensure_torchvision
from meshpipe.weights import require
from services.texture.paint import footprint, painter
from services.texture.paint.models import (
    PaintModel,
    apply_memory_knobs,
    load_delight,
    load_multiview,
)
from services.texture.paint.residency import Residency
from services.texture.paint.settings import PaintSettings, apply_paint_profile, profile_name
from services.texture.paint.shim import prepare_rasterizer
from services.texture.paint.weights import weights_spec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaintOutput:
    """A textured GLB and the timings of its steps."""

    glb: bytes
    vertex_count: int
    face_count: int
    step_seconds: dict[str, float] = field(default_factory=dict)


class PaintEngine:
    """hy3dgen's paint pipeline around meshpipe's device, dtype, sizes and residency."""

    def __init__(self, settings: PaintSettings) -> None:
        self.device = torchdevice.resolve_device(settings.device)
        self.profile = profile_name(settings, device_total_bytes(str(self.device)))
        self.settings = apply_paint_profile(settings, self.profile)
        self.dtype = torchdevice.resolve_dtype(self.settings.dtype, self.device, half="float16")
        self._models: dict[str, PaintModel] = {}
        self._residency: Residency | None = None
        self._pipeline: Any = None
        self._lock = threading.Lock()

    @property
    def info(self) -> BackendInfo:
        s = self.settings
        weights = f"{s.paint_repo}/{s.delight_subfolder}+{s.multiview_subfolder}"
        return BackendInfo("hunyuan3d-paint", weights, str(self.device))

    @property
    def footprint_bytes(self) -> int:
        if self.device.type != "cuda":
            return 0
        sizes = {k: m.weight_bytes() for k, m in self._models.items()} or None
        return footprint.estimate_bytes(self.settings, self.dtype.itemsize, sizes)

    def load(self) -> None:
        """Read both models (FailedPrecondition naming missing files) and place them."""
        repo = require(weights_spec(self.settings))
        ensure_torchvision()
        raster = prepare_rasterizer(self.settings.rasterizer)
        s = self.settings
        folders = {"delight": repo / s.delight_subfolder, "multiview": repo / s.multiview_subfolder}
        models = {
            "delight": load_delight(folders["delight"], s, self.device, self.dtype),
            "multiview": load_multiview(folders["multiview"], s, self.device, self.dtype),
        }
        for model in models.values():
            apply_memory_knobs(model, s, self.device)
        residency = Residency(list(models.values()), self.device, s)
        residency.place()
        self._pipeline = painter.build_pipeline(
            s, self.device, raster, models, {k: str(v) for k, v in folders.items()}
        )
        self._models, self._residency = models, residency
        log.info(
            "hunyuan3d-paint loaded from %s on %s (%s, profile %s, rasterizer %s)",
            repo,
            self.device,
            torchdevice.dtype_name(self.dtype),
            self.profile,
            raster.__name__,
        )

    def park(self) -> None:
        if self._residency is not None:
            self._residency.park()

    def wake(self) -> None:
        if self._residency is not None:
            self._residency.wake()

    def unload(self) -> None:
        self._pipeline, self._residency, self._models = None, None, {}
        torchdevice.release_cached()

    def memory(self) -> DeviceMemory:
        return torchdevice.device_memory(self.device)

    def reset_peak_memory(self) -> None:
        torchdevice.reset_peak(self.device)

    def paint(
        self, mesh: Any, extras: dict[str, Any], image: Image.Image, texture_size: int, seed: int
    ) -> PaintOutput:
        """Textured GLB of the trimesh `mesh`, painted from the RGBA `image`."""
        if self._pipeline is None or self._residency is None:
            raise FailedPrecondition("texture model is not loaded")
        _check_image(image)
        import torch

        timer = StepTimer(self._sync)
        with self._lock, torch.no_grad():
            for model in self._models.values():
                model.call.seed = seed
            try:
                textured = painter.paint(
                    self._pipeline, self._residency, self._models, mesh, image, texture_size, timer
                )
            except torch.cuda.OutOfMemoryError as exc:
                torchdevice.release_cached()
                raise ResourceExhausted(f"CUDA out of memory while painting: {exc}") from exc
        with timer.step("export"):
            glb = _export(textured, extras)
        return PaintOutput(glb, len(textured.vertices), len(textured.faces), timer.seconds)

    def with_steps(self, steps: int) -> _StepsOverride:
        """Context manager running both models with `steps` steps (the warm-up uses 1)."""
        return _StepsOverride(list(self._models.values()), steps)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            import torch

            torch.cuda.synchronize(self.device)


class _StepsOverride:
    def __init__(self, models: list[PaintModel], steps: int) -> None:
        self.models, self.steps = models, steps
        self.saved = [m.call.steps for m in models]

    def __enter__(self) -> None:
        for model in self.models:
            model.call.steps = self.steps

    def __exit__(self, *exc: object) -> None:
        for model, steps in zip(self.models, self.saved, strict=True):
            model.call.steps = steps


def _check_image(image: Image.Image) -> None:
    if image.mode != "RGBA":
        raise InvalidInput(f"the object image must be RGBA (alpha = matte), got {image.mode}")
    if image.getchannel("A").getbbox() is None:
        raise InvalidInput("the object image is fully transparent")


def _export(mesh: Any, extras: dict[str, Any]) -> bytes:
    """GLB of the textured mesh, keeping the input's JSON scene extras."""
    import trimesh

    scene = trimesh.Scene()
    scene.add_geometry(mesh, geom_name="object")
    scene.metadata.update({k: v for k, v in extras.items() if _is_json(v)})
    buf = io.BytesIO()
    scene.export(buf, file_type="glb")
    return buf.getvalue()


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
