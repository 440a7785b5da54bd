"""The embedded default: class-agnostic salient-object proposals, no weights.

Saliency from the border prior at a small working size, salient regions as connected
components, boxes scaled back to the request's image. It cannot read a prompt: a
non-empty one is reported as not applied, never silently ignored.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from meshpipe.errors import FailedPrecondition, InvalidInput
from meshpipe.runtime.backend import BackendInfo
from services.detector.backends import DetectorBackend, DetectResult
from services.detector.boxes import Box, Detection
from services.detector.options import DetectOptions
from services.detector.regions import salient_regions
from services.detector.saliency import saliency_map
from services.detector.settings import DetectorSettings

LABEL = "object"
MIN_SIDE_PX = 8
PROMPT_NOTICE = (
    "category filtering needs the VL detector backend (Qwen3-VL); returning all salient "
    "objects for prompt {prompt!r}"
)


class EmbeddedSaliencyBackend(DetectorBackend):
    """Salient-object proposals from the image border prior (CPU, weight-free)."""

    def __init__(self, settings: DetectorSettings) -> None:
        self.side = settings.saliency_side
        self._loaded = False

    @property
    def info(self) -> BackendInfo:
        return BackendInfo("embedded-saliency", "none", "cpu")

    def load(self) -> None:
        self._loaded = True  # nothing to read: the algorithm has no weights

    def warmup(self) -> None:
        probe = Image.new("RGB", (96, 64), (230, 230, 230))
        probe.paste((200, 40, 40), (30, 20, 60, 44))
        self.propose(probe, "", DetectOptions(1, 0.01, 0.5))

    def unload(self) -> None:
        self._loaded = False

    def propose(self, image: Image.Image, prompt: str, options: DetectOptions) -> DetectResult:
        if not self._loaded:
            raise FailedPrecondition("detector backend is not loaded")
        if min(image.size) < MIN_SIDE_PX:
            raise InvalidInput(
                f"image is too small to find objects in: {image.width}x{image.height} "
                f"(at least {MIN_SIDE_PX} px a side)"
            )
        small = _working_image(image, self.side)
        saliency = saliency_map(small)
        sx, sy = image.width / small.shape[1], image.height / small.shape[0]
        detections = [
            Detection(Box(r.x1 * sx, r.y1 * sy, r.x2 * sx, r.y2 * sy), LABEL, r.score)
            for r in salient_regions(saliency, options.min_area_fraction * saliency.size)
        ]
        notices = [PROMPT_NOTICE.format(prompt=prompt)] if prompt else []
        return DetectResult(detections, category_filtering_applied=False, notices=notices)


def _working_image(image: Image.Image, side: int) -> np.ndarray:
    """RGB float image in [0, 1] with its longest side at most `side` pixels."""
    rgb = image.convert("RGB")
    scale = min(1.0, side / max(rgb.size))
    if scale < 1.0:
        size = (max(8, round(rgb.width * scale)), max(8, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.BOX)
    return np.asarray(rgb, dtype=np.float32) / 255.0
