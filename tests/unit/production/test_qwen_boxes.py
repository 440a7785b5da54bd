"""From parsed answers to pixel detections: coordinate frames, labels, scores."""

from __future__ import annotations

import math

import pytest

from services.detector.backends.qwen_prompt import grounding_messages, span_scores, token_offsets
from services.detector.boxes import Box, Detection
from services.detector.qwen_boxes import (
    ModelFrame,
    match_label,
    match_labels,
    split_categories,
    to_pixels,
)
from services.detector.qwen_parse import parse_answer
from tests.unit.production import recorded_answers as answers

# A 1600x1200 photo that the processor shrank to 1024x768 before the model saw it.
FRAME = ModelFrame(image_width=1600, image_height=1200, input_width=1024, input_height=768)


def pixels(text: str, coordinates: str = "relative", on_absolute: str = "reject"):
    boxes = parse_answer(text).boxes
    return to_pixels(boxes, [1.0] * len(boxes), FRAME, coordinates, on_absolute)  # type: ignore[arg-type]


def test_relative_answer_scales_to_the_request_image() -> None:
    dets, notices = pixels(answers.QWEN3_TWO_OBJECTS)
    assert notices == []
    mug = dets[0].box
    assert (mug.x1, mug.y1, mug.x2, mug.y2) == pytest.approx((83.2, 453.6, 470.4, 1066.8))


def test_small_overshoot_is_clipped_not_rejected() -> None:
    dets, notices = pixels(answers.QWEN3_SWAPPED_AND_OVERSHOOT)
    assert notices == []
    assert dets[0].box.y2 == 1200.0  # 1004/1000 of the height, clipped to the border


def test_absolute_answer_is_rejected_by_default() -> None:
    dets, notices = pixels(answers.QWEN25_ABSOLUTE)
    assert dets == []
    assert "absolute" in notices[0] and "rejected" in notices[0]


def test_absolute_answer_is_converted_from_the_model_input_frame_when_asked() -> None:
    dets, notices = pixels(answers.QWEN25_ABSOLUTE, on_absolute="convert")
    assert "converted" in notices[0]
    mug = dets[0].box
    # x scales by 1600/1024, y by 1200/768; 1320 px on a 768-high input overshoots: clipped
    assert (mug.x1, mug.y1, mug.x2, mug.y2) == pytest.approx((209.375, 875.0, 1220.3125, 1200.0))


def test_absolute_mode_uses_the_input_frame_for_every_answer() -> None:
    text = '[{"bbox_2d": [0, 0, 512, 384], "label": "mug"}]'
    dets, _ = pixels(text, coordinates="absolute")
    assert (dets[0].box.x2, dets[0].box.y2) == pytest.approx((800.0, 600.0))


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("mug, lamp", ["mug", "lamp"]),
        (" desk  lamp ;mug,, Mug ", ["desk lamp", "mug"]),
        ("", []),
    ],
)
def test_split_categories(prompt: str, expected: list[str]) -> None:
    assert split_categories(prompt) == expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("mug", "mug"),
        ("Mugs", "mug"),
        ("red mug", "mug"),
        ("desk_lamp", "desk lamp"),
        ("lamp", "desk lamp"),
        ("boxes", "box"),
        ("puppies", "puppy"),
        ("cup", None),
        ("", None),
    ],
)
def test_match_label(label: str, expected: str | None) -> None:
    assert match_label(label, ["mug", "desk lamp", "box", "puppy"]) == expected


def test_empty_label_takes_the_only_category() -> None:
    assert match_label("", ["mug"]) == "mug"


def test_unmatched_boxes_are_dropped_with_a_notice() -> None:
    box = Box(0, 0, 10, 10)
    kept, notices = match_labels(
        [Detection(box, "Mugs", 0.9), Detection(box, "cup", 0.8)], ["mug", "lamp"]
    )
    assert [d.label for d in kept] == ["mug"]
    assert "cup" in notices[0]


def test_span_scores_are_geometric_means_of_overlapping_tokens() -> None:
    offsets = [2, 5, 9]  # tokens cover [0,2) [2,5) [5,9)
    probs = [0.5, 0.25, 1.0]
    scores = span_scores([(0, 5), (5, 9), (1, 3)], offsets, probs)
    assert scores[0] == pytest.approx(math.sqrt(0.5 * 0.25))
    assert scores[1] == pytest.approx(1.0)
    assert scores[2] == pytest.approx(math.sqrt(0.5 * 0.25))


def test_token_offsets_follow_prefix_decoding() -> None:
    pieces = ["[{", '"bbox', '_2d"']
    offsets = token_offsets([0, 1, 2], lambda ids: "".join(pieces[i] for i in ids))
    assert offsets == [2, 7, 11]


def test_prompt_is_the_design_prompt() -> None:
    content = grounding_messages("IMG", ["mug", "lamp"])[0]["content"]
    assert content[0] == {"type": "image", "image": "IMG"}
    assert content[1]["text"] == (
        "Locate every instance that belongs to the following categories: mug, lamp. "
        "Report bbox coordinates in JSON format."
    )
