"""The request's selection knobs (0 = the stage's default), validated once at the boundary."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from meshpipe.errors import InvalidInput

MAX_OBJECTS_LIMIT = 100
MAX_PROMPT_CHARS = 2000


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
        """Request values with 0 replaced by the defaults; InvalidInput when out of range."""
        if not 0 <= max_objects <= MAX_OBJECTS_LIMIT:
            raise InvalidInput(
                f"max_objects must be in [1, {MAX_OBJECTS_LIMIT}] (0 = default), got {max_objects}"
            )
        if not (math.isfinite(min_area_fraction) and 0 <= min_area_fraction < 1):
            raise InvalidInput(
                f"min_area_fraction must be in (0, 1) (0 = default), got {min_area_fraction}"
            )
        if not (math.isfinite(nms_iou) and 0 <= nms_iou <= 1):
            raise InvalidInput(f"nms_iou must be in (0, 1] (0 = default), got {nms_iou}")
        return cls(
            max_objects or defaults.max_objects,
            min_area_fraction or defaults.min_area_fraction,
            nms_iou or defaults.nms_iou,
        )


def check_prompt(prompt: str) -> str:
    """The prompt, stripped; InvalidInput when it is unreasonably long."""
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidInput(
            f"prompt is {len(prompt)} characters, over the limit of {MAX_PROMPT_CHARS}"
        )
    return prompt.strip()
