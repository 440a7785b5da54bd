"""The saliency cues on images whose answer is known by construction."""

from __future__ import annotations

import numpy as np

from services.detector.regions import salient_regions
from services.detector.saliency import border_dissimilarity, minimum_barrier_distance, saliency_map


def test_barrier_distance_is_zero_on_background_and_the_step_inside_an_object() -> None:
    channel = np.zeros((40, 50), np.float32)
    channel[10:30, 15:35] = 60.0
    channel[18:22, 0:15] = 0.0  # a corridor of background reaching in: still background
    dist = minimum_barrier_distance(channel)
    assert np.all(dist[channel == 0.0] == 0.0)
    assert np.allclose(dist[12:28, 17:33], 60.0)  # every path out crosses the 0 -> 60 step


def test_barrier_distance_follows_a_gradient_without_a_barrier() -> None:
    ramp = np.tile(np.linspace(0, 50, 40, dtype=np.float32), (30, 1))  # no edge anywhere
    dist = minimum_barrier_distance(ramp)
    assert float(dist.max()) < 50.0 / 39 * 1.01  # at most one step of the ramp


def test_border_dissimilarity_ignores_the_one_side_an_object_covers() -> None:
    lab = np.zeros((60, 60, 3), np.float32)
    lab[...] = (70.0, 0.0, 0.0)  # grey background
    lab[20:, 20:40] = (50.0, 60.0, 40.0)  # red object touching the bottom border
    dissimilar = border_dissimilarity(lab, band=3)
    assert dissimilar[40, 30] > 10 * max(float(dissimilar[5, 5]), 1e-3)


def test_plain_and_gradient_images_have_nothing_salient() -> None:
    plain = np.full((64, 96, 3), 0.6, np.float32)
    gradient = np.dstack([np.tile(np.linspace(0.2, 0.8, 96, dtype=np.float32), (64, 1))] * 3)
    for image in (plain, gradient):
        assert float(saliency_map(image).max()) < 0.25


def test_an_object_is_salient_and_its_background_is_not() -> None:
    image = np.full((64, 96, 3), 0.9, np.float32)
    image[20:44, 30:66] = (0.1, 0.3, 0.8)
    saliency = saliency_map(image)
    assert float(saliency[28:36, 40:56].min()) > 0.6
    assert float(saliency[:10].max()) < 0.1


def test_line_like_components_are_not_objects() -> None:
    saliency = np.zeros((100, 100), np.float32)
    saliency[60:90, 10:40] = 0.9  # a blob
    for i in range(5, 55):  # a diagonal streak, 3 px thick
        saliency[i, i - 2 + 40 : i + 1 + 40] = 0.9
    regions = salient_regions(saliency, min_box_area=50)
    assert [(r.x1, r.y1, r.x2, r.y2) for r in regions] == [(10, 60, 40, 90)]
