"""From parsed Qwen-VL answer boxes to detections in pixels of the request's image.

Qwen3-VL answers in coordinates relative to the image, 0..1000 on both axes. Qwen2.5-VL
answered in absolute pixels of the image as the model saw it (after the processor's
resize). The two must never be mixed: the stage says which one its model speaks
(`coordinates`), and an answer in relative mode that leaves 0..1000 is either rejected or
read as absolute pixels, by an explicit setting (`on_absolute`). Labels are matched back to
the prompt's categories; clipping, size filters and NMS are the stage's shared `select`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from services.detector.boxes import Box, Detection
from services.detector.qwen_parse import AnswerBox

RELATIVE_RANGE = 1000.0
RELATIVE_SLACK = 8.0  # relative answers overshoot 1000 by a few units now and then: clip those

Coordinates = Literal["relative", "absolute"]
OnAbsolute = Literal["reject", "convert"]


@dataclass(frozen=True)
class ModelFrame:
    """The request's image and the same image as the model saw it (processor resize)."""

    image_width: int
    image_height: int
    input_width: int
    input_height: int


def to_pixels(
    boxes: Sequence[AnswerBox],
    scores: Sequence[float],
    frame: ModelFrame,
    coordinates: Coordinates,
    on_absolute: OnAbsolute,
) -> tuple[list[Detection], list[str]]:
    """Answer boxes -> detections in pixels of the request's image (clipped), plus notices."""
    notices: list[str] = []
    if not boxes:
        return [], notices
    mode = coordinates
    if (
        mode == "relative"
        and max(b.max_coordinate for b in boxes) > RELATIVE_RANGE + RELATIVE_SLACK
    ):
        if on_absolute == "reject":
            notices.append(
                "the detector answered outside the relative 0-1000 range (absolute pixel "
                "coordinates, Qwen2.5-VL style); the answer was rejected "
                "(set on_absolute=convert to read such answers as pixels)"
            )
            return [], notices
        notices.append("the detector answered in absolute pixel coordinates; converted")
        mode = "absolute"
    if mode == "relative":
        sx = frame.image_width / RELATIVE_RANGE
        sy = frame.image_height / RELATIVE_RANGE
    else:
        sx = frame.image_width / frame.input_width
        sy = frame.image_height / frame.input_height
    out = [
        Detection(
            Box(b.x1 * sx, b.y1 * sy, b.x2 * sx, b.y2 * sy).clip(
                frame.image_width, frame.image_height
            ),
            b.label,
            s,
        )
        for b, s in zip(boxes, scores, strict=True)
    ]
    return out, notices


def split_categories(prompt: str) -> list[str]:
    """'mug, desk lamp;cat' -> ['mug', 'desk lamp', 'cat'] (empty entries and repeats dropped)."""
    seen: dict[str, str] = {}
    for part in re.split(r"[,;\n]", prompt):
        name = " ".join(part.split())
        if name and _canonical(name) not in seen:
            seen[_canonical(name)] = name
    return list(seen.values())


def match_labels(
    boxes: Sequence[Detection], categories: Sequence[str]
) -> tuple[list[Detection], list[str]]:
    """Relabel each box with the prompt category it names; drop boxes that name none."""
    kept: list[Detection] = []
    unmatched: set[str] = set()
    for box in boxes:
        category = match_label(box.label, categories)
        if category is None:
            unmatched.add(box.label or "(no label)")
        else:
            kept.append(replace(box, label=category))
    notices = []
    if unmatched:
        dropped = len(boxes) - len(kept)
        names = ", ".join(sorted(unmatched)[:5])
        notices.append(
            f"{dropped} box(es) labelled outside the requested categories were dropped ({names})"
        )
    return kept, notices


def match_label(label: str, categories: Sequence[str]) -> str | None:
    """The category `label` names: exact or singular/plural match first, then a category
    that appears as whole words in the label ('red mug' -> 'mug') or vice versa."""
    if not label.strip():
        return categories[0] if len(categories) == 1 else None
    key = _canonical(label)
    canon = [(_canonical(c), c) for c in categories]
    for c_key, category in canon:
        if key == c_key:
            return category
    padded = f" {key} "
    for c_key, category in sorted(canon, key=lambda kc: -len(kc[0])):
        if f" {c_key} " in padded or f" {key} " in f" {c_key} ":
            return category
    return None


def _canonical(name: str) -> str:
    words = re.sub(r"[^a-z0-9 ]+", " ", name.lower().replace("_", " ").replace("-", " ")).split()
    return " ".join(_singular(w) for w in words)


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
