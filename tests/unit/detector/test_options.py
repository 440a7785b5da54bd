"""Request knobs: 0 means the stage default; out of range is InvalidInput naming the knob."""

from __future__ import annotations

import math

import pytest

from meshpipe.errors import InvalidInput
from services.detector.options import MAX_PROMPT_CHARS, DetectOptions, check_prompt
from services.detector.settings import DetectorSettings

DEFAULTS = DetectorSettings.model_validate(
    {"max_objects": 7, "min_area_fraction": 0.02, "nms_iou": 0.4}
)


def test_zero_means_the_stage_default() -> None:
    assert DetectOptions.resolve(0, 0.0, 0.0, DEFAULTS) == DetectOptions(7, 0.02, 0.4)
    assert DetectOptions.resolve(3, 0.1, 0.9, DEFAULTS) == DetectOptions(3, 0.1, 0.9)


@pytest.mark.parametrize(
    ("max_objects", "min_area", "nms_iou", "knob"),
    [
        (101, 0.0, 0.0, "max_objects"),
        (0, -0.1, 0.0, "min_area_fraction"),
        (0, 1.0, 0.0, "min_area_fraction"),
        (0, math.nan, 0.0, "min_area_fraction"),
        (0, 0.0, 1.5, "nms_iou"),
        (0, 0.0, -0.2, "nms_iou"),
        (0, 0.0, math.inf, "nms_iou"),
    ],
)
def test_out_of_range_knobs_are_invalid_input(
    max_objects: int, min_area: float, nms_iou: float, knob: str
) -> None:
    with pytest.raises(InvalidInput, match=knob):
        DetectOptions.resolve(max_objects, min_area, nms_iou, DEFAULTS)


def test_prompt_is_stripped_and_bounded() -> None:
    assert check_prompt("  mug, lamp \n") == "mug, lamp"
    with pytest.raises(InvalidInput, match="prompt"):
        check_prompt("x" * (MAX_PROMPT_CHARS + 1))
