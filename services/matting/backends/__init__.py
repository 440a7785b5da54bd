"""Matting backends: the abstract stage backend and the dispatch on `settings.backend`.

A backend predicts a raw matte (`predict_alpha`); `matte` applies what every backend
shares: processing-size bound, edge refinement, stray-part removal, foreground colours.
To add a backend, write a module here with a MattingBackend subclass and add its id to
BACKENDS.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import numpy as np
from PIL import Image

from meshpipe.errors import InvalidInput
from meshpipe.runtime.backend import Backend
from meshpipe.runtime.registry import build_backend_from
from services.matting.alpha import drop_stray_parts, refine_edges
from services.matting.foreground import estimate_foreground
from services.matting.resample import resize
from services.matting.settings import MattingSettings

# backend id -> "module:class", imported only when chosen (heavy dependencies stay lazy).
BACKENDS: dict[str, str] = {
    "embedded": "services.matting.backends.rembg:RembgBackend",
    "rembg": "services.matting.backends.rembg:RembgBackend",
    "birefnet": "services.matting.backends.birefnet:BiRefNetBackend",
}

MIN_SIDE_PX = 8


@dataclass(frozen=True)
class MatteResult:
    """RGBA with refined foreground colours and the matte as alpha."""

    rgba: Image.Image
    foreground_fraction: float  # fraction of pixels with alpha >= 0.5


class MattingBackend(Backend):
    """A backend that mattes one crop."""

    def __init__(self, settings: MattingSettings) -> None:
        self.settings = settings

    @abstractmethod
    def predict_alpha(self, image: Image.Image) -> np.ndarray:
        """The model's raw matte of an RGB image: float32 H x W in [0, 1], same size."""

    def matte(self, image: Image.Image) -> MatteResult:
        """Raw matte -> refined matte and colours at the processing size -> crop size."""
        rgb = image.convert("RGB")
        if min(rgb.size) < MIN_SIDE_PX:
            raise InvalidInput(f"crop is too small to matte: {rgb.width}x{rgb.height}")
        work = _bounded(rgb, self.settings.max_side)
        pixels = np.asarray(work, dtype=np.float32) / 255.0
        alpha = self.predict_alpha(work)
        if self.settings.refine_edges:
            alpha = refine_edges(pixels, alpha)
        if self.settings.min_component_fraction > 0:
            alpha = drop_stray_parts(alpha, self.settings.min_component_fraction)
        colours = estimate_foreground(pixels, alpha) if self.settings.refine_foreground else pixels
        if work is not rgb:
            alpha, colours = _to_crop_size(rgb, alpha, colours - pixels)
        rgba = np.dstack([colours, alpha])
        out = Image.fromarray(np.clip(rgba * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGBA")
        return MatteResult(out, float((alpha >= 0.5).mean()))


def _bounded(image: Image.Image, max_side: int) -> Image.Image:
    """The image itself, or a copy downscaled so that its longest side is max_side."""
    if max_side <= 0 or max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _to_crop_size(
    rgb: Image.Image, alpha: np.ndarray, correction: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Matte and colours at the crop's full size: the matte is interpolated, the colour
    correction (refined minus observed, non-zero only at soft edges) is interpolated and
    added to the crop's own pixels, so colours keep their full resolution."""
    alpha = np.clip(resize(alpha, rgb.height, rgb.width), 0.0, 1.0)
    full = np.asarray(rgb, dtype=np.float32) / 255.0
    colours = np.clip(full + resize(correction, rgb.height, rgb.width), 0.0, 1.0)
    return alpha, colours


def build_backend(settings: MattingSettings) -> MattingBackend:
    """The backend named by `settings.backend` (or `auto`)."""
    backend: MattingBackend = build_backend_from("matting", settings, BACKENDS, MattingBackend)
    return backend
