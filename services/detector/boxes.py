"""Boxes and the backend-independent selection every detector result goes through:
clip to the image, drop degenerate and small boxes, class-agnostic NMS, keep the best."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.detector.options import DetectOptions

MIN_SIDE_PX = 2.0


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in pixels; x2/y2 exclusive."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)

    def clip(self, width: float, height: float) -> Box:
        """The part of the box inside a width x height image."""
        return Box(
            min(max(self.x1, 0.0), width),
            min(max(self.y1, 0.0), height),
            min(max(self.x2, 0.0), width),
            min(max(self.y2, 0.0), height),
        )

    def iou(self, other: Box) -> float:
        """Intersection over union (0 when either box is empty)."""
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class Detection:
    """One object: box, label ("object" when the backend cannot name it), score in [0, 1]."""

    box: Box
    label: str
    score: float


def nms(ordered: Sequence[Detection], iou_threshold: float) -> list[Detection]:
    """Greedy non-maximum suppression over detections sorted best first (class-agnostic)."""
    kept: list[Detection] = []
    for det in ordered:
        if all(det.box.iou(k.box) <= iou_threshold for k in kept):
            kept.append(det)
    return kept


def select(
    detections: Sequence[Detection], width: int, height: int, options: DetectOptions
) -> list[Detection]:
    """Clip, drop boxes thinner than 2 px or smaller than the minimum area, NMS, top-k."""
    min_area = options.min_area_fraction * width * height
    usable = []
    for det in detections:
        box = det.box.clip(width, height)
        if (
            box.x2 - box.x1 >= MIN_SIDE_PX
            and box.y2 - box.y1 >= MIN_SIDE_PX
            and box.area >= min_area
        ):
            usable.append(Detection(box, det.label, det.score))
    usable.sort(key=lambda d: -d.score)
    return nms(usable, options.nms_iou)[: options.max_objects]
