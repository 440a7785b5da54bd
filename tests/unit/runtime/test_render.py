"""meshpipe.render: the CPU preview renderer (numpy rasteriser, no OpenGL)."""

from __future__ import annotations

import numpy as np
import trimesh

from meshpipe.render import Surface, View, render


def _quad(texture: np.ndarray | None) -> Surface:
    """A unit square facing the viewer (z = 0), UVs across it (v up)."""
    vertices = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], float)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    uv = (vertices[:, :2] + 1) / 2
    normals = np.tile([0.0, 0.0, 1.0], (4, 1))
    return Surface(vertices, faces, normals, uv if texture is not None else None, texture)


def test_front_view_of_a_textured_quad_keeps_the_texture_orientation() -> None:
    texture = np.zeros((2, 2, 3), np.uint8)
    texture[0, :] = (250, 0, 0)  # top row red
    texture[1, :] = (0, 0, 250)  # bottom row blue
    image = render([_quad(texture)], View(size=64, yaw_degrees=0, pitch_degrees=0, margin=0))
    assert (image[..., 3] == 255).all()  # the quad fills the frame
    assert image[4, 32, 0] > 150 and image[4, 32, 2] < 100  # top: red
    assert image[60, 32, 2] > 150 and image[60, 32, 0] < 100  # bottom: blue


def test_three_quarter_view_is_lit_with_a_transparent_background() -> None:
    box = trimesh.creation.box()
    surface = Surface(
        np.asarray(box.vertices), np.asarray(box.faces), np.asarray(box.vertex_normals)
    )
    image = render([surface], View(size=128, supersample=2))
    alpha = image[..., 3]
    assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0
    assert 0.3 < (alpha == 255).mean() < 0.9
    assert ((alpha > 0) & (alpha < 255)).sum() > 0  # supersampled edges are soft
    grey = image[alpha == 255][:, 0].astype(int)
    assert grey.max() - grey.min() > 40  # the box's faces are lit differently


def test_backfaces_are_culled_and_nothing_gives_an_empty_image() -> None:
    quad = _quad(None)
    back = Surface(quad.vertices, quad.faces[:, ::-1], -quad.normals)
    assert (render([back], View(size=32, yaw_degrees=0, pitch_degrees=0))[..., 3] == 0).all()
    assert render([], View(size=16)).shape == (16, 16, 4)
