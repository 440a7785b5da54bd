"""Per-request knobs: one table of bounds and defaults, read by both sides.

The orchestrator checks every job option against this table when the job is submitted
(orchestrator/validation.py) and fills a quality preset's values from it
(orchestrator/quality.py); each stage resolves the same knobs through the same entries
(services/<stage>/options.py, services/<stage>/backends/__init__.py) and its settings take
their defaults and limits from here. So a value the API accepts is one the stage accepts
(tests/unit/test_options.py proves it for every bound), and a knob's range is written once.

Zero always means "the stage's default" (protobuf's unset value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

from meshpipe.errors import InvalidInput

Number = int | float
T = TypeVar("T", int, float)

# Longest prompt the detector reads; the orchestrator's limit may only be lower.
MAX_PROMPT_CHARS = 2000


@dataclass(frozen=True)
class Knob(Generic[T]):
    """One per-request knob: the stage that consumes it, where the API carries it, its
    accepted range (`low_open` / `high_open`: the bound itself is excluded) and its default."""

    name: str
    stage: str
    api_field: str
    low: T
    high: T
    default: T | None  # None: the backend decides (e.g. a model variant's steps)
    integer: bool
    low_open: bool = False
    high_open: bool = False

    @property
    def fallback(self) -> T:
        """The table's default (for a settings field); ValueError when the backend decides."""
        if self.default is None:
            raise ValueError(f"{self.name} has no table default; the backend gives one")
        return self.default

    def in_range(self, value: Number) -> bool:
        """True when `value` lies in the knob's range (0 is not special here)."""
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def range_text(self) -> str:
        """The range as people read it: 1..200, or (0, 1] for a half-open one."""
        if self.integer and not (self.low_open or self.high_open):
            return f"{self.low}..{self.high}"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{left}{self.low}, {self.high}{right}"

    def check(self, value: Number, what: str = "") -> None:
        """InvalidInput naming the knob unless `value` is 0 (the default) or in range."""
        if value == 0 and math.isfinite(value):
            return
        if not self.in_range(value):
            raise InvalidInput(
                f"{what or self.api_field}={value} is out of range: 0 (default) or "
                f"{self.range_text()}",
                what or self.api_field,
            )

    def resolve(
        self, value: T, default: T | None = None, low: T | None = None, high: T | None = None
    ) -> T:
        """The value to use: `default` (else the table's) for 0, else `value` checked against
        [low, high] -- a stage's own limits, from its settings, whose defaults are this
        table's bounds -- or the table's range when they are not given."""
        if value == 0 and math.isfinite(value):
            return self.fallback if default is None else default
        if low is None and high is None:
            ok, shown = self.in_range(value), self.range_text()
        else:
            lo = self.low if low is None else low
            hi = self.high if high is None else high
            ok, shown = math.isfinite(value) and lo <= value <= hi, f"[{lo}, {hi}]"
        if not ok:
            raise InvalidInput(f"{self.name} {value} is out of range {shown} (0 = default)")
        return value


MAX_OBJECTS: Knob[int] = Knob(
    "max_objects", "detector", "options.max_objects", 1, 100, default=10, integer=True
)
MIN_AREA_FRACTION: Knob[float] = Knob(
    "min_area_fraction",
    "detector",
    "options.detector.min_area_fraction",
    0.0,
    1.0,
    default=0.01,
    integer=False,
    low_open=True,
    high_open=True,
)
NMS_IOU: Knob[float] = Knob(
    "nms_iou", "detector", "options.detector.nms_iou", 0.0, 1.0, 0.5, False, low_open=True
)
CROP_PADDING: Knob[float] = Knob(
    "crop_padding",
    "orchestrator",
    "options.detector.crop_padding",
    0.0,
    2.0,
    default=0.1,
    integer=False,
    low_open=True,
)
STEPS: Knob[int] = Knob("steps", "shape", "options.shape.steps", 1, 200, default=None, integer=True)
OCTREE_RESOLUTION: Knob[int] = Knob(
    "octree_resolution", "shape", "options.shape.octree_resolution", 16, 512, 128, True
)
# 50: the most the production shape model (Hunyuan3D-2's flow-matching DiT) is run with.
GUIDANCE_SCALE: Knob[float] = Knob(
    "guidance_scale", "shape", "options.shape.guidance_scale", 0.0, 50.0, 5.0, False, True
)
TEXTURE_SIZE: Knob[int] = Knob(
    "texture_size", "texture", "options.texture_options.texture_size", 256, 4096, 1024, True
)

KNOBS: tuple[Knob[int] | Knob[float], ...] = (
    MAX_OBJECTS,
    MIN_AREA_FRACTION,
    NMS_IOU,
    CROP_PADDING,
    STEPS,
    OCTREE_RESOLUTION,
    GUIDANCE_SCALE,
    TEXTURE_SIZE,
)


def knob(name: str) -> Knob[int] | Knob[float]:
    """The table entry of a knob by name."""
    for found in KNOBS:
        if found.name == name:
            return found
    raise ValueError(f"unknown knob {name!r}; expected one of {', '.join(k.name for k in KNOBS)}")
