"""The grounding prompt sent to Qwen-VL and the confidence of each box it answers.

Qwen-VL reports no scores, but its token probabilities are a real confidence signal: each
box gets the geometric mean probability of the tokens that spell its JSON entry (greedy
decoding, so that is the model's own certainty in what it wrote).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

PROMPT = (
    "Locate every instance that belongs to the following categories: {categories}. "
    "Report bbox coordinates in JSON format."
)


def grounding_messages(image: Any, categories: Sequence[str]) -> list[dict[str, Any]]:
    """A one-turn chat: the image, then the prompt of docs/design.md §Pipeline for `categories`."""
    text = PROMPT.format(categories=", ".join(categories))
    return [
        {
            "role": "user",
            "content": [{"type": "image", "image": image}, {"type": "text", "text": text}],
        }
    ]


def token_offsets(token_ids: Sequence[int], decode: Callable[[Sequence[int]], str]) -> list[int]:
    """End character of each generated token in the decoded answer (prefix decoding, so
    multi-byte characters split across tokens land where the full decode puts them)."""
    return [len(decode(token_ids[: i + 1])) for i in range(len(token_ids))]


def span_scores(
    spans: Sequence[tuple[int, int]], offsets: Sequence[int], probabilities: Sequence[float]
) -> list[float]:
    """Geometric mean probability of the tokens overlapping each character span."""
    scores = []
    for start, end in spans:
        logs = []
        begin = 0
        for stop, p in zip(offsets, probabilities, strict=True):
            if stop > start and begin < end:
                logs.append(math.log(max(p, 1e-12)))
            begin = stop
        scores.append(math.exp(sum(logs) / len(logs)) if logs else 1.0)
    return scores
