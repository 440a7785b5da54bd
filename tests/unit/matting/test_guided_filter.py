"""Colour guided filter: exact against a direct solve, and edge-following."""

from __future__ import annotations

import numpy as np
import pytest

from services.matting.guided_filter import box_mean, guided_filter


def reference(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s algorithm with a per-pixel np.linalg.solve."""
    mean_i, mean_p = box_mean(guide, radius), box_mean(src, radius)
    cov = box_mean(guide * src[..., None], radius) - mean_i * mean_p[..., None]
    var = np.empty((*guide.shape[:2], 3, 3))
    for i in range(3):
        for j in range(3):
            var[..., i, j] = (
                box_mean(guide[..., i] * guide[..., j], radius) - mean_i[..., i] * mean_i[..., j]
            )
    a = np.linalg.solve(var + eps * np.eye(3), cov[..., None])[..., 0]
    b = mean_p - (a * mean_i).sum(-1)
    return (box_mean(a, radius) * guide).sum(-1) + box_mean(b, radius)


def test_matches_the_direct_solve() -> None:
    rng = np.random.default_rng(1)
    guide = rng.random((40, 50, 3)).astype(np.float32)
    src = rng.random((40, 50)).astype(np.float32)
    ours = guided_filter(guide, src, radius=3, eps=1e-3)
    assert np.allclose(ours, reference(guide, src, 3, 1e-3), atol=1e-4)


@pytest.mark.parametrize("offset", [-3, 3])
def test_a_misplaced_soft_matte_edge_moves_onto_the_guides_edge(offset: int) -> None:
    guide = np.zeros((60, 60, 3), np.float32)
    guide[:, 30:] = (0.9, 0.2, 0.1)  # sharp vertical edge at column 30
    # What an upsampled low-resolution matte looks like: soft, and a few pixels off.
    step = (np.arange(60) >= 30 + offset).astype(np.float32)[None, :].repeat(60, 0)
    matte = box_mean(step, 4)
    refined = guided_filter(guide, matte, radius=6, eps=1e-3)
    assert np.all(np.argmax(matte >= 0.5, axis=1) == 30 + offset)
    assert np.all(np.argmax(refined >= 0.5, axis=1) == 30)
