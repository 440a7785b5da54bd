"""Matte post-processing: stray parts dropped, soft fringes of the object kept."""

from __future__ import annotations

import numpy as np

from services.matting.alpha import drop_stray_parts, refine_edges


def test_drops_specks_and_haze_but_keeps_the_objects_fringe() -> None:
    alpha = np.zeros((100, 100), np.float32)
    alpha[20:80, 20:80] = 1.0  # the object
    alpha[20:80, 80:84] = 0.3  # its soft fringe (connected, below 0.5)
    alpha[5:8, 5:8] = 0.9  # a speck: 9 px vs 3600 px
    alpha[90:98, 40:60] = 0.2  # isolated haze with no object core
    cleaned = drop_stray_parts(alpha, min_fraction=0.02)
    assert np.array_equal(cleaned[20:80, 20:84], alpha[20:80, 20:84])
    assert cleaned[5:8, 5:8].max() == 0.0
    assert cleaned[90:98].max() == 0.0


def test_keeps_every_large_enough_part() -> None:
    alpha = np.zeros((100, 100), np.float32)
    alpha[10:50, 10:50] = 1.0  # 1600 px
    alpha[60:80, 60:80] = 1.0  # 400 px = 25 % of the largest
    assert np.array_equal(drop_stray_parts(alpha, 0.2), alpha)
    assert drop_stray_parts(alpha, 0.3)[60:80, 60:80].max() == 0.0


def test_empty_matte_stays_empty() -> None:
    alpha = np.full((20, 20), 0.1, np.float32)
    assert np.array_equal(drop_stray_parts(alpha, 0.02), alpha)


def test_refined_edges_stay_in_range() -> None:
    rng = np.random.default_rng(0)
    refined = refine_edges(rng.random((50, 70, 3)).astype(np.float32), rng.random((50, 70)))
    assert refined.shape == (50, 70) and refined.min() >= 0.0 and refined.max() <= 1.0
