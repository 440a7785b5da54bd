"""Matting backends: rembg sessions (u2netp is the embedded default)."""

from __future__ import annotations

import logging
import os
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from meshpipe.errors import FailedPrecondition, InvalidInput
from meshpipe.runtime.backend import Backend, BackendInfo
from services.matting.settings import MattingSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatteResult:
    rgba: Image.Image
    foreground_fraction: float


class MattingBackend(Backend):
    """A backend that mattes one crop."""

    @abstractmethod
    def matte(self, image: Image.Image) -> MatteResult:
        """RGBA with refined foreground colours and the matte as alpha."""


class RembgBackend(MattingBackend):
    """rembg session over a local ONNX file; never downloads."""

    def __init__(self, settings: MattingSettings) -> None:
        self.settings = settings
        self.weights_dir = Path(settings.weights_dir).expanduser()
        self._session: Any = None

    @property
    def info(self) -> BackendInfo:
        return BackendInfo("rembg", self.settings.model, "cpu")

    @property
    def weights_path(self) -> Path:
        return self.weights_dir / f"{self.settings.model}.onnx"

    def load(self) -> None:
        if not self.weights_path.is_file():
            raise FailedPrecondition(
                f"matting weights missing: {self.weights_path} not found "
                "(run `meshpipe weights fetch` or set MESHPIPE_MATTING_WEIGHTS_DIR)"
            )
        # rembg finds its model files through U2NET_HOME; set at load time, never at import.
        os.environ["U2NET_HOME"] = str(self.weights_dir)
        from rembg import new_session

        self._session = new_session(self.settings.model, providers=["CPUExecutionProvider"])

    def warmup(self) -> None:
        self.matte(Image.new("RGB", (64, 64), (200, 200, 200)))

    def unload(self) -> None:
        self._session = None

    def matte(self, image: Image.Image) -> MatteResult:
        if self._session is None:
            raise FailedPrecondition("matting model is not loaded")
        rgb = image.convert("RGB")
        if min(rgb.size) < 8:
            raise InvalidInput(f"crop is too small to matte: {rgb.size[0]}x{rgb.size[1]}")
        mask = self._session.predict(rgb)[0]
        alpha = np.asarray(mask, dtype=np.float32) / 255.0
        colours = np.asarray(rgb, dtype=np.float32) / 255.0
        if self.settings.refine_foreground:
            colours = refine_foreground(colours, alpha)
        rgba = np.dstack([colours, alpha])
        out = Image.fromarray(np.clip(rgba * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGBA")
        return MatteResult(out, float((alpha >= 0.5).mean()))


def refine_foreground(colours: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Estimate the foreground colour under a soft matte (pymatting's multi-level method)."""
    from pymatting import estimate_foreground_ml

    fg = estimate_foreground_ml(colours.astype(np.float64), alpha.astype(np.float64))
    return np.asarray(fg, dtype=np.float32)


def build_backend(settings: MattingSettings) -> MattingBackend:
    if settings.backend in ("embedded", "rembg"):
        return RembgBackend(settings)
    raise ValueError(f"unknown matting backend {settings.backend!r}")
