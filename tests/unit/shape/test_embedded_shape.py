"""Embedded shape backend: closed meshes whose front view is the matte, with believable depth."""

from __future__ import annotations

import importlib.util
import io
from typing import Any

import numpy as np
import pytest
import trimesh
from PIL import Image

from meshpipe.errors import FailedPrecondition, InvalidInput
from meshpipe.frontview import FrontView
from services.shape.backends import ShapeRequest, ShapeResult, build_backend
from services.shape.backends.embedded import EmbeddedShapeBackend
from services.shape.settings import ShapeSettings
from tests.unit.shape import crops

RESOLUTION = 64

CROPS = crops.NAMED


def make_backend(**overrides: object) -> EmbeddedShapeBackend:
    backend = build_backend(ShapeSettings.model_validate(overrides))
    assert isinstance(backend, EmbeddedShapeBackend)
    backend.load()
    return backend


@pytest.fixture(scope="module")
def backend() -> EmbeddedShapeBackend:
    return make_backend()


def load(result: ShapeResult) -> tuple[trimesh.Trimesh, FrontView]:
    """The GLB's mesh and the front view recorded in its extras."""
    scene = trimesh.load_scene(io.BytesIO(result.glb), file_type="glb")
    view = FrontView.from_extras(scene.metadata)
    assert view is not None, "the GLB carries no front-view record"
    return scene.to_mesh(), view


@pytest.mark.parametrize("name", sorted(CROPS))
def test_mesh_is_closed_matches_the_matte_and_has_believable_depth(
    backend: EmbeddedShapeBackend, name: str
) -> None:
    image = CROPS[name]()
    result = backend.generate(ShapeRequest(image, octree_resolution=RESOLUTION))
    mesh, view = load(result)

    assert view == FrontView(*image.size)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert result.watertight
    assert (result.vertex_count, result.face_count) == (len(mesh.vertices), len(mesh.faces))

    mask = crops.matte(image)
    assert crops.iou(crops.front_silhouette(mesh, view), mask) >= 0.9

    rows, cols = np.nonzero(mask)
    smaller_side = min(np.ptp(rows) + 1, np.ptp(cols) + 1) * view.units_per_pixel
    depth = mesh.extents[2]
    assert 0.2 * smaller_side <= depth <= 1.0 * smaller_side
    assert mesh.bounds[0, 2] == pytest.approx(-mesh.bounds[1, 2], rel=0.05)  # mirror-symmetric


def test_topology_follows_the_matte(backend: EmbeddedShapeBackend) -> None:
    disc = load(backend.generate(ShapeRequest(crops.synthetic(crops.disc()), 0, 0, 48)))[0]
    ring = load(backend.generate(ShapeRequest(crops.synthetic(crops.ring()), 0, 0, 48)))[0]
    assert disc.euler_number == 2  # a sphere
    assert ring.euler_number == 0  # a torus: the hole goes through


def test_thin_parts_are_thinner_than_thick_ones(backend: EmbeddedShapeBackend) -> None:
    mask = np.zeros((100, 160), bool)
    mask[20:80, 10:70] = True  # a 60 px block
    mask[45:55, 70:150] = True  # a 10 px bar
    mesh, view = load(backend.generate(ShapeRequest(crops.synthetic(mask), 0, 0, 96)))
    x_bar = view.pixels_to_xy(np.array([120.0]), np.array([50.0]))[0][0]
    x_block = view.pixels_to_xy(np.array([40.0]), np.array([50.0]))[0][0]

    def depth_at(x: float) -> float:
        near = np.abs(mesh.vertices[:, 0] - x) < 0.02
        return float(np.ptp(mesh.vertices[near, 2]))

    bar, block = depth_at(x_bar), depth_at(x_block)
    bar_width = 10 * view.units_per_pixel
    assert 0.5 * bar_width <= bar <= 1.5 * bar_width  # about round
    assert block > 3 * bar


def test_resolution_sets_the_detail() -> None:
    backend = make_backend(max_faces=0)
    image = crops.synthetic(crops.disc())
    coarse = backend.generate(ShapeRequest(image, octree_resolution=32))
    fine = backend.generate(ShapeRequest(image, octree_resolution=64))
    assert fine.face_count > 3 * coarse.face_count


def test_decimation_keeps_the_mesh_closed() -> None:
    backend = make_backend(max_faces=3000)
    result = backend.generate(ShapeRequest(crops.horse(), octree_resolution=RESOLUTION))
    mesh, view = load(result)
    assert result.face_count <= 3000
    assert mesh.is_watertight
    assert crops.iou(crops.front_silhouette(mesh, view), crops.matte(crops.horse())) >= 0.9


def test_object_touching_the_crop_border_is_closed(backend: EmbeddedShapeBackend) -> None:
    mask = np.ones((60, 90), bool)  # the matte fills the crop
    mesh, view = load(backend.generate(ShapeRequest(crops.synthetic(mask), 0, 0, 48)))
    assert mesh.is_watertight
    assert crops.iou(crops.front_silhouette(mesh, view), mask) >= 0.9


def test_matting_specks_are_dropped(backend: EmbeddedShapeBackend) -> None:
    mask = crops.disc(120)
    mask[2:4, 2:4] = True  # a 4-pixel speck far from the object
    mesh, _ = load(backend.generate(ShapeRequest(crops.synthetic(mask), 0, 0, 64)))
    assert mesh.body_count == 1


def test_same_input_gives_the_same_mesh(backend: EmbeddedShapeBackend) -> None:
    image = crops.coin()
    first = backend.generate(ShapeRequest(image, octree_resolution=40))
    second = backend.generate(ShapeRequest(image, octree_resolution=40))
    assert first.glb == second.glb


def test_step_timings_are_reported(backend: EmbeddedShapeBackend) -> None:
    result = backend.generate(ShapeRequest(crops.coin(), octree_resolution=32))
    assert set(result.step_seconds) == {
        "silhouette",
        "marching_cubes",
        "smooth",
        "decimate",
        "export",
    }
    assert all(t >= 0 for t in result.step_seconds.values())


def test_zero_resolution_means_the_default() -> None:
    backend = make_backend(octree_resolution=24, max_faces=0)
    image = crops.synthetic(crops.disc())
    default = backend.generate(ShapeRequest(image, octree_resolution=0))
    explicit = backend.generate(ShapeRequest(image, octree_resolution=24))
    assert default.glb == explicit.glb


@pytest.mark.parametrize("resolution", [8, 15, 513, 4096])
def test_resolution_out_of_range_is_invalid(backend: EmbeddedShapeBackend, resolution: int) -> None:
    with pytest.raises(InvalidInput, match="octree_resolution"):
        backend.generate(ShapeRequest(crops.synthetic(crops.disc()), 0, 0, resolution))


def test_rgb_image_is_invalid(backend: EmbeddedShapeBackend) -> None:
    with pytest.raises(InvalidInput, match="RGBA"):
        backend.generate(ShapeRequest(Image.new("RGB", (32, 32)), octree_resolution=32))


def test_empty_alpha_is_invalid(backend: EmbeddedShapeBackend) -> None:
    empty = crops.synthetic(np.zeros((40, 40), bool))
    with pytest.raises(InvalidInput, match="empty alpha"):
        backend.generate(ShapeRequest(empty, octree_resolution=32))


def test_warmup_runs(backend: EmbeddedShapeBackend) -> None:
    backend.warmup()
    assert backend.info.backend == "embedded-inflate"
    assert backend.info.weights == "none"


def test_load_needs_the_decimation_package_only_when_decimating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "fast_simplification" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(FailedPrecondition, match="fast-simplification"):
        make_backend(max_faces=1000)
    make_backend(max_faces=0)


@pytest.mark.parametrize("target", [1000, 4000, 12000])
def test_target_faces_is_met_within_five_percent(target: int) -> None:
    backend = make_backend(max_faces=40_000)
    request = ShapeRequest(crops.horse(), octree_resolution=128, target_faces=target)
    result = backend.generate(request)
    mesh, view = load(result)
    assert abs(len(mesh.faces) - target) <= 0.05 * target
    assert result.face_count == len(mesh.faces)
    assert crops.iou(crops.front_silhouette(mesh, view), crops.matte(crops.horse())) >= 0.85


def test_target_faces_overrides_max_faces_upwards() -> None:
    backend = make_backend(max_faces=2000)
    request = ShapeRequest(crops.horse(), octree_resolution=128, target_faces=8000)
    assert abs(backend.generate(request).face_count - 8000) <= 400
