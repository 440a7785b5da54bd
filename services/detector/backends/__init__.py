"""Detector backends: the abstract stage backend and the dispatch on `settings.backend`.

A backend proposes boxes (`propose`); `detect` applies the selection every backend shares
(clip, minimum area, NMS, top-k) and the notices the caller must see. To add a backend,
write a module here with a DetectorBackend subclass and add its id to BACKENDS.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field

from PIL import Image

from meshpipe.runtime.backend import Backend
from meshpipe.runtime.registry import build_backend_from
from services.detector.boxes import Detection, select
from services.detector.options import DetectOptions
from services.detector.settings import DetectorSettings

# backend id -> "module:class", imported only when chosen (heavy dependencies stay lazy).
BACKENDS: dict[str, str] = {
    "embedded": "services.detector.backends.embedded:EmbeddedSaliencyBackend",
    "embedded-saliency": "services.detector.backends.embedded:EmbeddedSaliencyBackend",
    "qwen-vl": "services.detector.backends.qwen_vl:QwenVLBackend",
}

NO_OBJECTS_NOTICE = "no objects found"


@dataclass(frozen=True)
class DetectResult:
    """Detections (best first), whether the prompt filtered them, and remarks for the caller."""

    detections: list[Detection]
    category_filtering_applied: bool
    notices: list[str] = field(default_factory=list)


class DetectorBackend(Backend):
    """A backend that finds objects in one image."""

    @abstractmethod
    def propose(self, image: Image.Image, prompt: str, options: DetectOptions) -> DetectResult:
        """Candidate boxes in pixels of `image` (any order; selection happens in detect)."""

    def detect(self, image: Image.Image, prompt: str, options: DetectOptions) -> DetectResult:
        """Proposals -> clipped, filtered, de-duplicated, capped detections, best first."""
        proposed = self.propose(image, prompt, options)
        kept = select(proposed.detections, image.width, image.height, options)
        notices = list(proposed.notices)
        if not kept:
            notices.append(
                f"{NO_OBJECTS_NOTICE} (min_area_fraction {options.min_area_fraction:g}); "
                "the caller decides what to do with the whole image"
            )
        return DetectResult(kept, proposed.category_filtering_applied, notices)


def build_backend(settings: DetectorSettings) -> DetectorBackend:
    """The backend named by `settings.backend` (or `auto`)."""
    backend: DetectorBackend = build_backend_from("detector", settings, BACKENDS, DetectorBackend)
    return backend
