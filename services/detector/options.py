"""The request's selection knobs (0 = the stage's default), resolved through the knob table
of meshpipe.options at the servicer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from meshpipe.errors import InvalidInput
from meshpipe.options import MAX_OBJECTS, MAX_PROMPT_CHARS, MIN_AREA_FRACTION, NMS_IOU

MAX_OBJECTS_LIMIT = int(MAX_OBJECTS.high)
__all__ = ["MAX_OBJECTS_LIMIT", "MAX_PROMPT_CHARS", "DetectOptions", "check_prompt"]


class OptionDefaults(Protocol):
    """Where the defaults come from (the stage settings)."""

    max_objects: int
    min_area_fraction: float
    nms_iou: float


@dataclass(frozen=True)
class DetectOptions:
    """How detections are selected: at most `max_objects`, none smaller than
    `min_area_fraction` of the image, overlaps above `nms_iou` suppressed."""

    max_objects: int
    min_area_fraction: float
    nms_iou: float

    @classmethod
    def resolve(
        cls, max_objects: int, min_area_fraction: float, nms_iou: float, defaults: OptionDefaults
    ) -> DetectOptions:
        """Request values with 0 replaced by the defaults; InvalidInput when out of range
        (the ranges of meshpipe.options, the table the orchestrator validates with)."""
        return cls(
            int(MAX_OBJECTS.resolve(max_objects, defaults.max_objects)),
            float(MIN_AREA_FRACTION.resolve(min_area_fraction, defaults.min_area_fraction)),
            float(NMS_IOU.resolve(nms_iou, defaults.nms_iou)),
        )


def check_prompt(prompt: str) -> str:
    """The prompt, stripped; InvalidInput when it is unreasonably long."""
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput(
            f"prompt is {len(prompt)} characters, over the limit of {MAX_PROMPT_CHARS}"
        )
    return prompt.strip()
