"""Embedded texture backend on the embedded shape's meshes: a real texture whose front view
is the crop, on unchanged geometry."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import numpy as np
import pytest
import trimesh
from PIL import Image

from meshpipe.errors import InvalidInput
from meshpipe.frontview import FrontView
from services.shape.backends import ShapeRequest
from services.shape.backends import build_backend as build_shape
from services.shape.settings import ShapeSettings
from services.texture.backends import TextureRequest, build_backend
from services.texture.backends.embedded import EmbeddedTextureBackend
from services.texture.settings import TextureSettings
from tests.unit.shape import crops
from tests.unit.texture.render import Textured, front_render, load_textured

SIZE = 512
STEPS = {"parse", "uv_wrap", "rasterize_uv", "bake", "dilate", "export"}

CROPS = crops.NAMED


def make_backend(**overrides: object) -> EmbeddedTextureBackend:
    backend = build_backend(TextureSettings.model_validate(overrides))
    assert isinstance(backend, EmbeddedTextureBackend)
    backend.load()
    return backend


@pytest.fixture(scope="module")
def backend() -> EmbeddedTextureBackend:
    return make_backend()


@pytest.fixture(scope="module")
def shape_glb() -> Callable[[Image.Image], bytes]:
    shape = build_shape(ShapeSettings.model_validate({"max_faces": 20_000}))
    return lambda image: shape.generate(ShapeRequest(image, octree_resolution=64)).glb


def colour_error(glb: bytes, image: Image.Image) -> tuple[float, float]:
    """(mean absolute colour error /255 inside the matte, fraction of the matte rendered)."""
    return colour_error_of(load_textured(glb), image)


def colour_error_of(textured: Textured, image: Image.Image) -> tuple[float, float]:
    rendered, covered = front_render(textured, FrontView(*image.size))
    mask = crops.matte(image)
    truth = np.asarray(image.convert("RGB"), dtype=np.float32)
    return float(np.abs(rendered - truth)[mask].mean()), float(covered[mask].mean())


@pytest.mark.parametrize("name", sorted(CROPS))
def test_front_view_of_the_bake_is_the_crop(
    backend: EmbeddedTextureBackend, shape_glb: Callable[[Image.Image], bytes], name: str
) -> None:
    image = CROPS[name]()
    mesh_glb = shape_glb(image)
    result = backend.paint(TextureRequest(mesh_glb, image, texture_size=SIZE))
    textured = load_textured(result.glb)

    assert textured.texture.size == (SIZE, SIZE) and result.texture_size == SIZE
    assert (result.vertex_count, result.face_count) == (
        len(textured.mesh.vertices),
        len(textured.mesh.faces),
    )
    merged = trimesh.Trimesh(textured.mesh.vertices, textured.mesh.faces)  # merge by position
    assert merged.is_watertight
    original = trimesh.load_scene(io.BytesIO(mesh_glb), file_type="glb").to_mesh()
    assert len(merged.faces) == len(original.faces)
    assert merged.volume == pytest.approx(original.volume, rel=1e-5)
    assert np.allclose(merged.bounds, original.bounds, atol=1e-6)
    assert FrontView.from_extras(textured.extras) == FrontView(*image.size)

    error, rendered = colour_error(result.glb, image)
    assert rendered > 0.97
    assert error <= 20.0


def test_xatlas_charts_bake_as_well() -> None:
    backend = make_backend(uv_charts="xatlas")
    image = crops.coin()
    shape = build_shape(ShapeSettings.model_validate({"max_faces": 5000}))
    mesh_glb = shape.generate(ShapeRequest(image, octree_resolution=48)).glb
    result = backend.paint(TextureRequest(mesh_glb, image, texture_size=SIZE))
    error, rendered = colour_error(result.glb, image)
    assert rendered > 0.97
    assert error <= 20.0


def test_back_faces_repeat_the_front(
    backend: EmbeddedTextureBackend, shape_glb: Callable[[Image.Image], bytes]
) -> None:
    image = crops.synthetic(crops.l_shape())
    result = backend.paint(TextureRequest(shape_glb(image), image, texture_size=SIZE))
    textured = load_textured(result.glb)
    mirrored = textured.mesh.copy()
    mirrored.vertices[:, 2] *= -1.0  # the back now faces the viewer
    back = dataclasses.replace(textured, mesh=mirrored)
    front_rgb, _ = front_render(textured, FrontView(*image.size))
    back_rgb, _ = front_render(back, FrontView(*image.size))
    mask = crops.matte(image)
    assert float(np.abs(front_rgb - back_rgb)[mask].mean()) <= 5.0


def test_background_never_leaks_into_the_texture(
    backend: EmbeddedTextureBackend, shape_glb: Callable[[Image.Image], bytes]
) -> None:
    mask = crops.disc()
    rgb = np.zeros((*mask.shape, 3), np.uint8)
    rgb[mask] = (30, 160, 90)
    rgb[~mask] = (255, 0, 255)  # a background colour that must not show anywhere
    image = crops.rgba(rgb, mask)
    result = backend.paint(TextureRequest(shape_glb(image), image, texture_size=256))
    texels = np.asarray(load_textured(result.glb).texture.convert("RGB"), dtype=np.int16)
    assert np.abs(texels - np.array([30, 160, 90])).max() <= 2


def test_mesh_without_a_front_view_record_is_fitted_to_the_matte(
    backend: EmbeddedTextureBackend,
) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=3.0)
    sphere.apply_translation([5.0, -2.0, 0.0])
    image = crops.synthetic(crops.disc(100))
    result = backend.paint(TextureRequest(sphere.export(file_type="glb"), image, SIZE))
    textured = load_textured(result.glb)
    assert FrontView.from_extras(textured.extras) is None
    # The sphere's front view, fitted to the disc's box, is the disc: compare colours there.
    fitted = textured.mesh.copy()
    fitted.vertices -= [5.0, -2.0, 0.0]
    fitted.vertices *= 0.84 / 3.0  # disc radius 0.42 x 100 px in the view's units
    error, rendered = colour_error_of(dataclasses.replace(textured, mesh=fitted), image)
    assert rendered > 0.95
    assert error <= 20.0


def test_step_timings_are_reported(
    backend: EmbeddedTextureBackend, shape_glb: Callable[[Image.Image], bytes]
) -> None:
    image = crops.coin()
    result = backend.paint(TextureRequest(shape_glb(image), image, texture_size=256))
    assert set(result.step_seconds) == STEPS
    assert all(t >= 0 for t in result.step_seconds.values())


def test_zero_size_means_the_default() -> None:
    backend = make_backend(texture_size=384)
    image = crops.coin()
    glb = trimesh.creation.icosphere(subdivisions=2).export(file_type="glb")
    assert backend.paint(TextureRequest(glb, image, texture_size=0)).texture_size == 384


@pytest.mark.parametrize("size", [128, 255, 4097, 8192])
def test_texture_size_out_of_range_is_invalid(backend: EmbeddedTextureBackend, size: int) -> None:
    glb = trimesh.creation.icosphere(subdivisions=1).export(file_type="glb")
    with pytest.raises(InvalidInput, match="texture_size"):
        backend.paint(TextureRequest(glb, crops.coin(), texture_size=size))


@pytest.mark.parametrize(
    ("mesh_glb", "message"),
    [(b"", "empty"), (b"glTF not really a binary gltf", "not a readable GLB")],
)
def test_broken_mesh_is_invalid(
    backend: EmbeddedTextureBackend, mesh_glb: bytes, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        backend.paint(TextureRequest(mesh_glb, crops.coin(), texture_size=256))


def test_mesh_with_too_many_faces_is_invalid() -> None:
    backend = make_backend(max_faces=100)
    glb = trimesh.creation.icosphere(subdivisions=3).export(file_type="glb")
    with pytest.raises(InvalidInput, match="over the limit"):
        backend.paint(TextureRequest(glb, crops.coin(), texture_size=256))


def test_image_must_be_rgba_with_an_object(backend: EmbeddedTextureBackend) -> None:
    glb = trimesh.creation.icosphere(subdivisions=1).export(file_type="glb")
    with pytest.raises(InvalidInput, match="RGBA"):
        backend.paint(TextureRequest(glb, Image.new("RGB", (32, 32)), texture_size=256))
    with pytest.raises(InvalidInput, match="empty alpha"):
        backend.paint(TextureRequest(glb, Image.new("RGBA", (32, 32)), texture_size=256))


def test_warmup_runs(backend: EmbeddedTextureBackend) -> None:
    backend.warmup()
    assert backend.info.backend == "embedded-projection"
