"""Blur-fusion foreground colours on composites whose foreground is known."""

from __future__ import annotations

import numpy as np

from services.matting.foreground import estimate_foreground
from tests.unit.scenes.textures import photo, tinted_texture


def test_recovers_foreground_colours_where_alpha_is_fractional() -> None:
    fg = photo("coffee")[100:260, 200:360]
    bg = tinted_texture("grass", fg.shape[:2], (0.3, 0.8, 0.3))
    yy, xx = np.mgrid[0:160, 0:160]
    ramp = np.clip((np.hypot(yy - 80, xx - 80) - 40) / 8, 0, 1)  # soft edge 8 px wide
    alpha = (1.0 - ramp).astype(np.float32)
    image = fg * alpha[..., None] + bg * (1 - alpha[..., None])
    estimate = estimate_foreground(image, alpha)
    soft = (alpha > 0.1) & (alpha < 0.9)
    raw_error = np.abs(image - fg)[soft].mean()
    assert np.abs(estimate - fg)[soft].mean() < 0.5 * raw_error
    assert np.allclose(estimate[alpha == 1.0], image[alpha == 1.0], atol=1e-4)  # opaque: as is
    assert estimate.min() >= 0.0 and estimate.max() <= 1.0
