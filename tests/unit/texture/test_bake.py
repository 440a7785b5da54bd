"""Front-projection helpers: projections, background fill, sampling, seam bleeding."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from meshpipe.errors import InvalidInput
from meshpipe.frontview import FrontView
from services.texture.backends.embedded_bake import (
    CropProjection,
    bleed,
    object_colours,
    object_mask,
    projection_for,
    sample,
)
from tests.unit.shape import crops


def test_projection_from_the_view_inverts_the_shape_convention() -> None:
    view = FrontView(300, 200)
    cols, rows = np.array([0.0, 150.0, 299.5]), np.array([0.0, 100.0, 12.25])
    x, y = view.pixels_to_xy(cols, rows)
    got_cols, got_rows = CropProjection.from_view(view)(np.stack([x, y], axis=1))
    assert np.allclose(got_cols, cols) and np.allclose(got_rows, rows)


def test_a_resized_crop_projects_onto_the_same_places() -> None:
    mask = np.ones((50, 100), bool)
    bounds = np.array([[-1.0, -0.5, -0.2], [1.0, 0.5, 0.2]])
    project = projection_for(FrontView(100, 50), bounds, (200, 100), mask)
    cols, rows = project(np.array([[1.0, 0.5], [-1.0, -0.5]]))
    assert np.allclose(cols, [200, 0]) and np.allclose(rows, [0, 100])


def test_a_crop_of_another_shape_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not the crop"):
        projection_for(FrontView(100, 50), np.zeros((2, 3)), (100, 100), np.ones((100, 100), bool))


def test_without_a_record_the_mesh_box_is_fitted_to_the_matte_box() -> None:
    mask = np.zeros((40, 60), bool)
    mask[10:30, 20:50] = True
    bounds = np.array([[-2.0, -1.0, -1.0], [4.0, 3.0, 1.0]])
    cols, rows = projection_for(None, bounds, (60, 40), mask)(bounds[:, :2])
    assert np.allclose(cols, [20, 50])  # x min -> left edge, x max -> right edge
    assert np.allclose(rows, [30, 10])  # y min -> bottom edge, y max -> top edge (y up)


def test_background_takes_the_nearest_object_colour() -> None:
    rgb = np.zeros((20, 20, 3), np.uint8)
    rgb[:, :10] = (255, 0, 0)
    rgb[:, 10:] = (0, 0, 255)
    mask = np.zeros((20, 20), bool)
    mask[5:15, 2:8] = True  # only the red half holds object pixels
    image = crops.rgba(rgb, mask)
    colours = object_colours(image, object_mask(image))
    assert np.array_equal(colours[0, 19], [255, 0, 0])  # blue background became red
    assert np.array_equal(colours[10, 5], [255, 0, 0])


def test_sampling_is_exact_at_pixel_centres_and_bilinear_between() -> None:
    colours = np.arange(4 * 4 * 3, dtype=np.float32).reshape(4, 4, 3)
    got = sample(colours, np.array([1.5, 2.0]), np.array([2.5, 2.5]))
    assert np.allclose(got[0], colours[2, 1])
    assert np.allclose(got[1], (colours[2, 1] + colours[2, 2]) / 2)


def test_bleed_fills_every_texel_from_its_nearest_covered_texel() -> None:
    texture = np.zeros((8, 8, 3), np.float32)
    covered = np.zeros((8, 8), bool)
    texture[1, 1], covered[1, 1] = (10, 20, 30), True
    texture[6, 6], covered[6, 6] = (40, 50, 60), True
    out = bleed(texture, covered)
    assert np.array_equal(out[0, 0], [10, 20, 30])
    assert np.array_equal(out[7, 7], [40, 50, 60])
    assert np.array_equal(out[1, 1], [10, 20, 30])


def test_mask_needs_rgba_and_an_object() -> None:
    with pytest.raises(InvalidInput, match="RGBA"):
        object_mask(Image.new("RGB", (8, 8)))
    with pytest.raises(InvalidInput, match="empty alpha"):
        object_mask(Image.new("RGBA", (8, 8), (255, 0, 0, 0)))
