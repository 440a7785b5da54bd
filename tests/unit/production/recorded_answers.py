"""Grounding answers in the shapes Qwen-VL models really produce, for the parser tests.

Qwen3-VL-2B/4B-Instruct answer the detector prompt of docs/design.md §Pipeline with a ```json fence, tab-indented
entries and relative 0-1000 coordinates; Qwen2.5-VL used absolute pixels of its input.
The rest are the failure shapes seen in practice: cut at max_new_tokens, prose after the
fence, a bare object, a trailing comma, a Thinking variant's reasoning in front.
"""

QWEN3_TWO_OBJECTS = (
    "```json\n[\n"
    '\t{"bbox_2d": [52, 378, 294, 889], "label": "mug"},\n'
    '\t{"bbox_2d": [612, 120, 905, 870], "label": "lamp"}\n'
    "]\n```"
)

QWEN3_TRUNCATED = (
    "```json\n[\n"
    '\t{"bbox_2d": [10, 20, 400, 600], "label": "cat"},\n'
    '\t{"bbox_2d": [500, 100, 980, 700], "label": "cat"},\n'
    '\t{"bbox_2d": [120, 6'
)

QWEN3_WITH_PROSE = (
    "Sure! Here are the objects I found:\n```json\n"
    '[{"bbox_2d": [100, 100, 500, 500], "label": "Mugs"}]\n'
    "```\nLet me know if you need anything else."
)

QWEN3_SINGLE_OBJECT = '{"bbox_2d": [250, 250, 750, 750], "label": "lamp"}'

QWEN3_TRAILING_COMMA = (
    '```json\n[{"bbox_2d": [0, 0, 300, 300], "label": "mug"},'
    ' {"bbox_2d": [600, 600, 1000, 1000], "label": "mug"},]\n```'
)

QWEN3_THINKING = (
    "<think>The user wants [mug] boxes; the {mug} is on the left.</think>\n\n"
    '```json\n[{"bbox_2d": [40, 300, 310, 900], "label": "mug"}]\n```'
)

QWEN3_SWAPPED_AND_OVERSHOOT = '[{"bbox_2d": [900, 800, 100, 1004], "label": "lamp"}]'

QWEN3_WRAPPED = '```json\n{"objects": [{"bbox": [10, 10, 200, 200], "name": "cat"}]}\n```'

QWEN3_BROKEN_ENTRIES = (
    '[{"bbox_2d": [1, 2, 3], "label": "three numbers"}, {"label": "no box"},'
    ' {"bbox_2d": ["a", 2, 3, 4], "label": "text"}, {"bbox_2d": [[100, 100, 300, 300]], "label": "nested"}]'
)

QWEN25_ABSOLUTE = (
    "```json\n[\n"
    '\t{"bbox_2d": [134, 560, 781, 1320], "label": "mug"},\n'
    '\t{"bbox_2d": [900, 60, 1610, 1200], "label": "lamp"}\n'
    "]\n```"
)

NO_JSON = "I could not find any mug in this image."
