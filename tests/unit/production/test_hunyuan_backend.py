"""The Hunyuan3D-2 shape backend on tiny checkpoints loaded by hy3dgen's own loader."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import trimesh
from PIL import Image, ImageDraw

from meshpipe.errors import FailedPrecondition, InvalidInput
from meshpipe.frontview import FrontView
from meshpipe.images import encode_png
from meshpipe.v1 import common_pb2, stage_pb2, stage_pb2_grpc
from services.shape.backends import ShapeRequest, ShapeResult
from services.shape.backends.hunyuan import HunyuanShapeBackend
from services.shape.settings import ShapeSettings
from tests.unit.production.stage_server import serve

MATTE_BOX = (50, 30, 130, 110)  # left, top, right, bottom of the object in the crop


def settings_for(models: Path, **extra: Any) -> ShapeSettings:
    values: dict[str, Any] = {
        "backend": "hunyuan3d",
        "models_dir": str(models),
        "octree_resolution": 48,
        "min_octree_resolution": 16,
        "steps": 3,
        "max_faces": 4000,
        "metrics_port": -1,
        "park_after": 0,
        "unload_after": 0,
        "memory_profile": "none",
    }
    values.update(extra)
    return ShapeSettings(**values)


def crop() -> Image.Image:
    image = Image.new("RGBA", (180, 140), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((50, 30, 129, 109), fill=(200, 60, 40, 255))
    return image


def load_glb(data: bytes) -> tuple[trimesh.Trimesh, dict[str, Any]]:
    scene: Any = trimesh.load(io.BytesIO(data), file_type="glb")
    (mesh,) = scene.geometry.values()
    return mesh, dict(scene.metadata)


async def test_generate_shape_over_grpc(tiny_hunyuan: Path) -> None:
    async with serve("shape", settings_for(tiny_hunyuan)) as (channel, runner):
        stub = stage_pb2_grpc.ShapeStub(channel)
        request = stage_pb2.GenerateShapeRequest(rgba_png=encode_png(crop()), seed=7)
        reply = await stub.GenerateShape(request)
        assert reply.report.backend.backend == "hunyuan3d-dit"
        assert reply.report.backend.weights == "tencent/Hunyuan3D-2mini/hunyuan3d-dit-v2-mini"
        mesh, extras = load_glb(reply.mesh_glb)
        assert (len(mesh.vertices), len(mesh.faces)) == (reply.vertex_count, reply.face_count)
        assert 0 < reply.face_count <= 4000  # FaceReducer honoured max_faces
        assert {"generate", "postprocess", "export"} <= set(reply.report.step_seconds)
        view = FrontView.from_extras(extras)
        assert view == FrontView(180, 140)
        # front silhouette placed over the matte: its longer side spans the matte's box
        (x0, y0, _), (x1, y1, _) = mesh.bounds
        cols, rows = view.xy_to_pixels(np.array([x0, x1]), np.array([y1, y0]))
        spans = (cols[1] - cols[0], rows[1] - rows[0])
        assert max(spans) == pytest.approx(80, abs=1.5)
        assert (cols.mean(), rows.mean()) == pytest.approx((90, 70), abs=1.5)

        admin = stage_pb2_grpc.StageAdminStub(channel)
        await admin.Unload(stage_pb2.UnloadRequest(target=common_pb2.MODEL_STATE_PARKED))
        again = await stub.GenerateShape(request)
        assert again.mesh_glb == reply.mesh_glb  # woken weights, same seed: same mesh
        assert (runner.counters.parks, runner.counters.wakes) == (1, 1)


def test_batch_follows_seeds_and_groups_knobs(tiny_hunyuan: Path) -> None:
    backend = HunyuanShapeBackend(
        settings_for(tiny_hunyuan, octree_resolution=32, postprocess=False)
    )
    backend.load()
    image = crop()
    results = backend.generate_batch(
        [
            ShapeRequest(image, seed=1),
            ShapeRequest(image, seed=2),
            ShapeRequest(image, seed=1),
            ShapeRequest(image, seed=1, steps=2),
        ]
    )
    done = [r for r in results if isinstance(r, ShapeResult)]
    assert len(done) == 4
    meshes = [load_glb(r.glb)[0] for r in done]
    # same seed, same surface (batched rows differ by float rounding only); other seed differs
    assert np.allclose(meshes[0].bounds, meshes[2].bounds, atol=1e-3)
    assert abs(len(meshes[0].faces) - len(meshes[2].faces)) <= 0.01 * len(meshes[0].faces)
    assert done[0].glb != done[1].glb
    assert done[3].glb != done[0].glb  # another step count ran as its own group
    with pytest.raises(InvalidInput, match="steps"):
        backend.generate(ShapeRequest(image, steps=500))
    backend.unload()


def test_an_empty_surface_fails_only_its_own_object(
    tiny_hunyuan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = HunyuanShapeBackend(settings_for(tiny_hunyuan, postprocess=False))
    monkeypatch.setattr(backend, "_run", lambda *a: [trimesh.creation.icosphere(), None])
    ok, failed = backend.generate_batch([ShapeRequest(crop(), seed=1), ShapeRequest(crop())])
    assert isinstance(ok, ShapeResult) and ok.watertight and ok.face_count == 1280
    assert isinstance(failed, FailedPrecondition) and "no surface" in str(failed)


def test_invalid_knobs_fail_only_their_own_object(
    tiny_hunyuan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = HunyuanShapeBackend(settings_for(tiny_hunyuan, postprocess=False))
    monkeypatch.setattr(backend, "_run", lambda *a: [trimesh.creation.icosphere()])
    bad, ok = backend.generate_batch([ShapeRequest(crop(), steps=500), ShapeRequest(crop())])
    assert isinstance(bad, InvalidInput) and "steps" in str(bad)
    assert isinstance(ok, ShapeResult) and ok.face_count == 1280


def test_turbo_variant_loads_its_flashvdm_vae(tiny_hunyuan: Path) -> None:
    backend = HunyuanShapeBackend(
        settings_for(tiny_hunyuan, hunyuan_variant="v2-mini-turbo", octree_resolution=64)
    )
    assert backend.flashvdm
    backend.load()
    assert type(backend._pipeline.vae.volume_decoder).__name__ == "FlashVDMVolumeDecoding"
    result = backend.generate(ShapeRequest(crop(), seed=3))
    assert result.face_count > 0
    backend.unload()


def test_missing_checkpoint_names_the_file(tiny_hunyuan: Path) -> None:
    backend = HunyuanShapeBackend(settings_for(tiny_hunyuan, hunyuan_variant="v2-0"))
    with pytest.raises(
        FailedPrecondition, match=re.escape("hunyuan3d-dit-v2-0/model.fp16.safetensors")
    ):
        backend.load()


@pytest.mark.parametrize("code", [grpc.StatusCode.INVALID_ARGUMENT])
async def test_empty_alpha_is_rejected(tiny_hunyuan: Path, code: grpc.StatusCode) -> None:
    empty = Image.new("RGBA", (64, 64), (10, 10, 10, 0))
    async with serve("shape", settings_for(tiny_hunyuan)) as (channel, _):
        stub = stage_pb2_grpc.ShapeStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GenerateShape(stage_pb2.GenerateShapeRequest(rgba_png=encode_png(empty)))
    assert err.value.code() == code
