"""The front-view convention shared by the shape and texture stages."""

from __future__ import annotations

import numpy as np
import pytest

from meshpipe.frontview import EXTRAS_KEY, FrontView


def test_the_crop_frame_maps_to_a_centred_box_with_the_longer_side_two_units() -> None:
    view = FrontView(400, 200)
    x, y = view.pixels_to_xy(np.array([0.0, 400.0, 200.0]), np.array([0.0, 200.0, 100.0]))
    assert np.allclose(x, [-1.0, 1.0, 0.0])
    assert np.allclose(y, [0.5, -0.5, 0.0])  # rows grow downwards, y grows upwards
    assert view.units_per_pixel == pytest.approx(2.0 / 400)


def test_pixels_and_mesh_coordinates_round_trip() -> None:
    view = FrontView(75, 131)
    rng = np.random.default_rng(0)
    cols, rows = rng.uniform(0, 75, 50), rng.uniform(0, 131, 50)
    back_cols, back_rows = view.xy_to_pixels(*view.pixels_to_xy(cols, rows))
    assert np.allclose(back_cols, cols) and np.allclose(back_rows, rows)


def test_extras_round_trip_and_malformed_records_are_ignored() -> None:
    view = FrontView(320, 240)
    assert FrontView.from_extras(view.to_extras()) == view
    assert FrontView.from_extras(None) is None
    assert FrontView.from_extras({}) is None
    assert FrontView.from_extras({EXTRAS_KEY: "320x240"}) is None
    assert FrontView.from_extras({EXTRAS_KEY: {"image_width": 320}}) is None
    assert FrontView.from_extras({EXTRAS_KEY: {"image_width": 0, "image_height": 5}}) is None


def test_an_empty_view_is_refused() -> None:
    with pytest.raises(ValueError, match="positive size"):
        FrontView(0, 10)
