"""The Hunyuan3D-Paint backend end to end on CPU, with tiny random-weight models it builds.

The models are garbage (random weights) but load and run through the production code:
hy3dgen's InstructPix2Pix delight pipeline and its custom multiview pipeline and 2.5D UNet
(`trust_remote_code`), hy3dgen's MeshRender on the pure-PyTorch rasteriser, its bake and
inpaint, and the GLB export.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import torch
import trimesh
from PIL import Image, ImageDraw

from meshpipe.errors import FailedPrecondition, InvalidInput
from meshpipe.runtime.model import ModelRunner
from meshpipe.runtime.server import create_stage_server
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from services.texture.backends import TextureRequest
from services.texture.backends.hunyuan_paint import HunyuanPaintBackend
from services.texture.paint.engine import PaintEngine
from services.texture.paint.settings import PaintSettings
from services.texture.service import SPEC
from services.texture.settings import TextureSettings
from tests.support.random_paint_weights import DELIGHT, PAINT, REPO_ID, build_models

STEPS = {
    "recenter",
    "delight",
    "uv_wrap",
    "load_mesh",
    "render_normal",
    "render_position",
    "multiview",
    "bake",
    "inpaint",
    "set_texture",
    "export",
}


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("hy3dgen")
    with pytest.MonkeyPatch.context() as mp:
        # diffusers copies the custom pipeline and unet/modules.py into its modules cache.
        mp.setenv("HF_HOME", str(root / "hf"))
        mp.setenv("HF_MODULES_CACHE", str(root / "hf" / "modules"))
        if "diffusers" in sys.modules:
            import diffusers.utils.dynamic_modules_utils as dynamic

            mp.setattr(dynamic, "HF_MODULES_CACHE", str(root / "hf" / "modules"))
        from meshpipe.torchcompat import ensure_torchvision

        ensure_torchvision()
        build_models(root / "models")
        yield root / "models"


def tiny_settings(models_dir: Path, **kw: object) -> PaintSettings:
    base: dict[str, object] = {
        "device": "cpu",
        "models_dir": str(models_dir),
        "paint_profile": "none",
        "render_size": 128,
        "texture_size": 128,
        "delight_size": 64,
        "view_size": 64,
        "delight_steps": 2,
        "multiview_steps": 2,
    }
    return PaintSettings.model_validate(base | kw)


@pytest.fixture(scope="module")
def engine(models_dir: Path) -> PaintEngine:
    engine = PaintEngine(tiny_settings(models_dir))
    engine.load()
    return engine


def object_image() -> Image.Image:
    image = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((12, 8, 84, 88), fill=(200, 90, 40, 255))
    return image


def textured_mesh(glb: bytes) -> Any:
    """The one textured trimesh of a GLB (trimesh's visuals are untyped: Any)."""
    scene: Any = trimesh.load(io.BytesIO(glb), file_type="glb")
    (mesh,) = scene.geometry.values()
    assert isinstance(mesh, trimesh.Trimesh)
    assert isinstance(mesh.visual, trimesh.visual.TextureVisuals)
    return mesh


def texture_of(glb: bytes) -> Image.Image:
    texture = textured_mesh(glb).visual.material.baseColorTexture
    assert isinstance(texture, Image.Image)
    return texture


def test_paints_a_glb_with_a_texture(engine: PaintEngine) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.8)
    out = engine.paint(sphere, {"meshpipe_front_view": {"w": 96}}, object_image(), 128, seed=3)
    assert set(out.step_seconds) == STEPS
    assert all(v >= 0 for v in out.step_seconds.values())
    mesh = textured_mesh(out.glb)
    assert (out.vertex_count, out.face_count) == (len(mesh.vertices), len(mesh.faces))
    assert len(mesh.faces) == len(sphere.faces) and len(mesh.vertices) >= len(sphere.vertices)
    uv = np.asarray(mesh.visual.uv)
    assert uv.shape == (len(mesh.vertices), 2) and (uv >= 0).all() and (uv <= 1).all()
    texture = texture_of(out.glb)
    assert texture.size == (128, 128)
    assert np.asarray(texture.convert("RGB")).std() > 0  # painted, not a flat fill


def test_seed_controls_the_result(engine: PaintEngine) -> None:
    cube = trimesh.creation.box(extents=(1.0, 0.8, 0.6))
    image = object_image()
    first = engine.paint(cube.copy(), {}, image, 64, seed=1)
    again = engine.paint(cube.copy(), {}, image, 64, seed=1)
    other = engine.paint(cube.copy(), {}, image, 64, seed=2)

    def pixels(glb: bytes) -> np.ndarray:
        return np.asarray(texture_of(glb).convert("RGB"))

    assert pixels(first.glb).shape == (64, 64, 3)
    np.testing.assert_array_equal(pixels(first.glb), pixels(again.glb))
    assert (pixels(first.glb) != pixels(other.glb)).any()


def test_backend_adapter_converts_request_and_result(models_dir: Path) -> None:
    stage = TextureSettings.model_validate(
        {"backend": "hunyuan-paint", "device": "cpu", "min_texture_size": 64}
    )
    backend = HunyuanPaintBackend(stage, tiny_settings(models_dir, views=3))
    assert backend.info.backend == "hunyuan3d-paint" and backend.footprint_bytes == 0
    backend.load()
    glb = trimesh.creation.icosphere(subdivisions=1, radius=0.7).export(file_type="glb")
    result = backend.paint(TextureRequest(glb, object_image(), texture_size=64, seed=5))
    assert result.texture_size == 64 and set(result.step_seconds) == STEPS
    assert texture_of(result.glb).size == (64, 64)
    assert backend.texture_side(0) == 128  # the paint settings' size, not the stage default
    with pytest.raises(InvalidInput, match="out of range"):
        backend.paint(TextureRequest(glb, object_image(), texture_size=32))
    with pytest.raises(InvalidInput, match="transparent"):
        backend.paint(TextureRequest(glb, Image.new("RGBA", (32, 32))))
    with pytest.raises(InvalidInput, match="GLB"):
        backend.paint(TextureRequest(b"not a glb", object_image()))
    backend.unload()
    with pytest.raises(FailedPrecondition, match="not loaded"):
        backend.paint(TextureRequest(glb, object_image()))


def test_missing_weights_are_named(models_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FailedPrecondition, match=f"{DELIGHT}/model_index.json"):
        PaintEngine(tiny_settings(tmp_path)).load()
    partial = tmp_path / "partial"
    (partial / REPO_ID).mkdir(parents=True)
    for sub in (DELIGHT, PAINT):
        (partial / REPO_ID / sub).symlink_to(models_dir / REPO_ID / sub)
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(partial, broken, symlinks=False)
    (broken / REPO_ID / PAINT / "unet" / "modules.py").unlink()
    with pytest.raises(FailedPrecondition, match=f"{PAINT}/unet/modules.py"):
        PaintEngine(tiny_settings(broken)).load()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("profile", ["high", "balanced", "low", "minimal"])
def test_paints_on_cuda_under_each_residency(models_dir: Path, profile: str) -> None:
    settings = tiny_settings(
        models_dir,
        device="cuda",
        paint_profile=profile,
        views=4,
        render_size=256,
        texture_size=256,
    )
    engine = PaintEngine(settings)
    assert engine.dtype == torch.float16 and engine.footprint_bytes > 0
    engine.load()
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.8)
    out = engine.paint(sphere, {}, object_image(), 256, seed=0)
    assert texture_of(out.glb).size == (256, 256)
    if engine.settings.one_model_at_a_time or engine.settings.offload != "none":
        # nothing of the models stays on the GPU between requests
        assert torch.cuda.memory_allocated() < 64 * 2**20
    engine.park()
    assert torch.cuda.memory_allocated() < 64 * 2**20
    engine.wake()
    engine.unload()


async def test_paint_texture_over_grpc(models_dir: Path) -> None:
    stage = TextureSettings.model_validate(
        {"backend": "hunyuan-paint", "device": "cpu", "min_texture_size": 64, "warmup": True}
    )
    backend = HunyuanPaintBackend(stage, tiny_settings(models_dir, views=3, texture_size=96))
    runner: ModelRunner[Any] = ModelRunner("texture", backend, stage)
    server, port, _ = await create_stage_server(SPEC, runner, "127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = stage_pb2_grpc.TextureStub(channel)
            glb = trimesh.creation.icosphere(subdivisions=1, radius=0.7).export(file_type="glb")
            png = io.BytesIO()
            object_image().save(png, format="PNG")
            reply = await stub.PaintTexture(
                stage_pb2.PaintTextureRequest(mesh_glb=glb, rgba_png=png.getvalue(), seed=4)
            )
            bad = stage_pb2.PaintTextureRequest(mesh_glb=b"xx", rgba_png=png.getvalue())
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.PaintTexture(bad)
    finally:
        await server.stop(0)
        await runner.close()
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reply.texture_size == 96 and texture_of(reply.textured_glb).size == (96, 96)
    assert set(reply.report.step_seconds) == STEPS
    assert reply.report.backend.backend == "hunyuan3d-paint"
    histogram = runner.metrics.registry.get_sample_value(
        "meshpipe_stage_step_seconds_count", {"stage": "texture", "step": "multiview"}
    )
    assert histogram == 1.0  # the request's steps (the warm-up reports none)
