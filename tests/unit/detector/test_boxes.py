"""Box geometry and the shared selection: clip, degenerate, minimum area, NMS, max objects."""

from __future__ import annotations

import pytest

from services.detector.boxes import Box, Detection, nms, select
from services.detector.options import DetectOptions


def det(x1: float, y1: float, x2: float, y2: float, score: float) -> Detection:
    return Detection(Box(x1, y1, x2, y2), "object", score)


def test_iou_of_known_overlaps() -> None:
    a = Box(0, 0, 10, 10)
    assert a.iou(a) == 1.0
    assert a.iou(Box(5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert a.iou(Box(10, 0, 20, 10)) == 0.0  # touching edges do not overlap (exclusive x2)
    assert a.iou(Box(3, 3, 3, 8)) == 0.0  # empty box


def test_clip_keeps_the_part_inside_the_image() -> None:
    assert Box(-5, -2, 50, 30).clip(40, 20) == Box(0, 0, 40, 20)
    assert Box(50, 50, 60, 60).clip(40, 20).area == 0.0


def test_nms_keeps_the_best_of_overlapping_boxes_and_all_separate_ones() -> None:
    ordered = [det(0, 0, 10, 10, 0.9), det(1, 1, 11, 11, 0.8), det(20, 20, 30, 30, 0.7)]
    kept = nms(ordered, iou_threshold=0.5)
    assert [d.score for d in kept] == [0.9, 0.7]
    # IoU of the first two is 81/119 = 0.68: a looser threshold keeps both.
    assert len(nms(ordered, iou_threshold=0.7)) == 3


def test_select_sorts_and_applies_nms_minimum_area_and_max_objects() -> None:
    image_w, image_h = 100, 100
    detections = [
        det(0, 0, 30, 30, 0.5),  # 9 % of the image
        det(1, 1, 31, 31, 0.6),  # overlaps the first (IoU 0.88): suppresses it
        det(50, 50, 90, 90, 0.9),  # 16 %
        det(60, 0, 65, 5, 0.99),  # 0.25 %: below the minimum area
        det(0, 90, 100, 91, 0.95),  # 1 px tall: degenerate
        det(40, 0, 70, 20, 0.4),  # 6 %
    ]
    options = DetectOptions(max_objects=10, min_area_fraction=0.01, nms_iou=0.5)
    kept = select(detections, image_w, image_h, options)
    assert [d.score for d in kept] == [0.9, 0.6, 0.4]
    capped = select(detections, image_w, image_h, DetectOptions(2, 0.01, 0.5))
    assert [d.score for d in capped] == [0.9, 0.6]
    strict = select(detections, image_w, image_h, DetectOptions(10, 0.1, 0.5))
    assert [d.score for d in strict] == [0.9]


def test_select_clips_boxes_that_leave_the_image() -> None:
    kept = select([det(-10, -10, 50, 50, 0.5)], 40, 30, DetectOptions(5, 0.01, 0.5))
    assert kept[0].box == Box(0, 0, 40, 30)
