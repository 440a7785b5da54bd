"""Reading boxes out of a Qwen-VL grounding answer (docs/design.md §Pipeline).

The model is asked for JSON `[{"bbox_2d": [x1, y1, x2, y2], "label": ...}]` and usually
answers inside a ```json fence, but real answers also come with prose around them, without
a closing fence (cut off by the token limit), with a trailing comma, as a single object
instead of a list, with the reasoning of a "Thinking" variant in front, or with other key
names. This module turns any of those into a list of raw boxes in the answer's own
coordinates and says what it had to drop; it knows nothing about images or frames
(`qwen_boxes` does that).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

_BOX_KEYS = ("bbox_2d", "bbox", "box_2d", "box", "bounding_box")
_LABEL_KEYS = ("label", "category", "name", "class", "object")
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)
_FENCE_OPEN = re.compile(r"```[a-zA-Z]*[ \t]*\n?")


@dataclass(frozen=True)
class AnswerBox:
    """One box as the model wrote it: corners in the answer's coordinates, and its label."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    span: tuple[int, int]  # characters of the answer text this entry came from

    @property
    def max_coordinate(self) -> float:
        return max(self.x1, self.y1, self.x2, self.y2)


@dataclass
class ParsedAnswer:
    """The boxes found in an answer and remarks on what could not be used."""

    boxes: list[AnswerBox] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def parse_answer(text: str) -> ParsedAnswer:
    """Every usable box of a grounding answer, in order of appearance."""
    parsed = ParsedAnswer()
    start, end = _payload_bounds(text)
    entries, broken = _decode_entries(text, start, end)
    dropped = 0
    for entry, span in entries:
        box = _to_box(entry, span)
        if box is None:
            dropped += 1
        else:
            parsed.boxes.append(box)
    if broken:
        parsed.notices.append(
            f"the detector's answer was truncated or malformed; {broken} fragment(s) ignored"
        )
    if dropped:
        parsed.notices.append(f"{dropped} answer entry(ies) had no usable bbox_2d and were ignored")
    return parsed


def _payload_bounds(text: str) -> tuple[int, int]:
    """Character range holding the JSON: the first code fence, else everything after any
    reasoning block."""
    search_from = 0
    think = _THINK.search(text)
    if think is not None:
        search_from = think.end()
    fence = _FENCE_OPEN.search(text, search_from)
    if fence is None:
        return search_from, len(text)
    close = text.find("```", fence.end())
    return fence.end(), len(text) if close < 0 else close


def _decode_entries(
    text: str, start: int, end: int
) -> tuple[list[tuple[Any, tuple[int, int]]], int]:
    """JSON objects between start and end, each with its span; and a count of fragments
    that could not be decoded. JSON values holding no object (prose like "[2] mugs") are
    skipped."""
    decoder = json.JSONDecoder()
    pos = _first_of(text, "[{", start, end)
    while pos >= 0:
        try:
            value, stop = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return _salvage(text, pos, end, decoder)
        if isinstance(value, dict) and not _looks_like_entry(value):
            value = _nested_list(value)
        if isinstance(value, dict):
            return [(value, (pos, stop))], 0
        if isinstance(value, list) and any(isinstance(v, dict) for v in value):
            return _list_entries(text, value, pos, stop, decoder), 0
        pos = _first_of(text, "[{", stop, end)
    return [], 0


def _list_entries(
    text: str, value: list[Any], start: int, stop: int, decoder: json.JSONDecoder
) -> list[tuple[Any, tuple[int, int]]]:
    """The entries of a decoded list, each with its own span where it can be located."""
    located, broken = _salvage(text, start + 1, stop, decoder)
    if not broken and [v for v, _ in located] == [v for v in value if isinstance(v, dict)]:
        return located
    return [(v, (start, stop)) for v in value]


def _salvage(
    text: str, start: int, end: int, decoder: json.JSONDecoder
) -> tuple[list[tuple[Any, tuple[int, int]]], int]:
    """Decode every complete top-level {...} object in the range, skipping broken ones."""
    entries: list[tuple[Any, tuple[int, int]]] = []
    broken = 0
    pos = _first_of(text, "{", start, end)
    while pos >= 0:
        try:
            value, stop = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            broken += 1
            pos = _first_of(text, "{", _end_of_fragment(text, pos + 1, end), end)
            continue
        entries.append((value, (pos, stop)))
        pos = _first_of(text, "{", stop, end)
    return entries, broken


def _end_of_fragment(text: str, pos: int, end: int) -> int:
    """Where a broken object ends: after its closing brace, or at the end of the range."""
    close = text.find("}", pos, end)
    return end if close < 0 else close + 1


def _first_of(text: str, chars: str, start: int, end: int) -> int:
    hits = [i for i in (text.find(c, start, end) for c in chars) if i >= 0]
    return min(hits) if hits else -1


def _looks_like_entry(value: dict[str, Any]) -> bool:
    return any(key in value for key in _BOX_KEYS)


def _nested_list(value: dict[str, Any]) -> Any:
    """`{"objects": [...]}` style wrappers: the first list of objects inside."""
    for inner in value.values():
        if isinstance(inner, list) and inner and all(isinstance(v, dict) for v in inner):
            return inner
    return value


def _to_box(entry: Any, span: tuple[int, int]) -> AnswerBox | None:
    if not isinstance(entry, dict):
        return None
    coords = next((entry[k] for k in _BOX_KEYS if k in entry), None)
    numbers = _four_numbers(coords)
    if numbers is None:
        return None
    x1, y1, x2, y2 = numbers
    label = next((entry[k] for k in _LABEL_KEYS if isinstance(entry.get(k), str)), "")
    return AnswerBox(
        min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2), " ".join(label.split()), span
    )


def _four_numbers(coords: Any) -> tuple[float, float, float, float] | None:
    if isinstance(coords, list) and len(coords) == 1 and isinstance(coords[0], list):
        coords = coords[0]  # [[x1, y1, x2, y2]]
    if not isinstance(coords, list) or len(coords) != 4:
        return None
    values: list[float] = []
    for c in coords:
        try:
            v = float(c)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(v) or isinstance(c, bool):
            return None
        values.append(v)
    return values[0], values[1], values[2], values[3]
