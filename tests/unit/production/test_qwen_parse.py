"""Parsing recorded Qwen-VL grounding answers (no model needed)."""

from __future__ import annotations

from services.detector.qwen_parse import parse_answer
from tests.unit.production import recorded_answers as answers


def corners(text: str) -> list[tuple[float, float, float, float, str]]:
    return [(b.x1, b.y1, b.x2, b.y2, b.label) for b in parse_answer(text).boxes]


def test_fenced_list_gives_every_entry_in_order() -> None:
    assert corners(answers.QWEN3_TWO_OBJECTS) == [
        (52, 378, 294, 889, "mug"),
        (612, 120, 905, 870, "lamp"),
    ]
    assert parse_answer(answers.QWEN3_TWO_OBJECTS).notices == []


def test_truncated_answer_keeps_complete_entries_and_says_so() -> None:
    parsed = parse_answer(answers.QWEN3_TRUNCATED)
    assert [(b.x1, b.x2) for b in parsed.boxes] == [(10, 400), (500, 980)]
    assert any("truncated" in n for n in parsed.notices)


def test_prose_around_the_fence_is_ignored() -> None:
    assert corners(answers.QWEN3_WITH_PROSE) == [(100, 100, 500, 500, "Mugs")]


def test_single_object_not_in_a_list() -> None:
    assert corners(answers.QWEN3_SINGLE_OBJECT) == [(250, 250, 750, 750, "lamp")]


def test_trailing_comma_is_salvaged() -> None:
    assert [b.x1 for b in parse_answer(answers.QWEN3_TRAILING_COMMA).boxes] == [0, 600]


def test_reasoning_block_with_brackets_is_skipped() -> None:
    assert corners(answers.QWEN3_THINKING) == [(40, 300, 310, 900, "mug")]


def test_swapped_corners_are_ordered() -> None:
    assert corners(answers.QWEN3_SWAPPED_AND_OVERSHOOT) == [(100, 800, 900, 1004, "lamp")]


def test_wrapper_object_and_alternative_keys() -> None:
    assert corners(answers.QWEN3_WRAPPED) == [(10, 10, 200, 200, "cat")]


def test_entries_without_four_numbers_are_dropped_with_a_notice() -> None:
    parsed = parse_answer(answers.QWEN3_BROKEN_ENTRIES)
    assert [(b.x1, b.label) for b in parsed.boxes] == [(100, "nested")]
    assert any("3 answer entr" in n for n in parsed.notices)


def test_answer_without_json_gives_nothing() -> None:
    parsed = parse_answer(answers.NO_JSON)
    assert parsed.boxes == [] and parsed.notices == []


def test_spans_point_at_each_entry() -> None:
    text = answers.QWEN3_TWO_OBJECTS
    spans = [b.span for b in parse_answer(text).boxes]
    assert [text[a:b] for a, b in spans] == [
        '{"bbox_2d": [52, 378, 294, 889], "label": "mug"}',
        '{"bbox_2d": [612, 120, 905, 870], "label": "lamp"}',
    ]


def test_prose_with_brackets_before_the_payload() -> None:
    text = 'I found [2] mugs: [{"bbox_2d": [1, 2, 30, 40], "label": "mug"}]'
    assert corners(text) == [(1, 2, 30, 40, "mug")]
