"""`meshpipe stage texture` as a real process: ready file, health, PaintTexture over a
socket on a mesh from the embedded shape backend, typed errors, graceful SIGTERM."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from meshpipe.frontview import FrontView
from meshpipe.images import encode_png
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from services.shape.backends import ShapeRequest
from services.shape.backends import build_backend as build_shape
from services.shape.settings import ShapeSettings
from tests.support.stage_process import running_stage
from tests.unit.shape import crops
from tests.unit.texture.render import front_render, load_textured

ENV = {"MESHPIPE_TEXTURE_TEXTURE_SIZE": "512"}


def test_texture_process_paints_meshes_and_stops_cleanly() -> None:
    image = crops.coin()
    shape = build_shape(ShapeSettings.model_validate({"max_faces": 10_000}))
    mesh_glb = shape.generate(ShapeRequest(image)).glb
    png = encode_png(image)
    with (
        running_stage("texture", env=ENV) as stage,
        grpc.insecure_channel(stage.grpc_address) as channel,
    ):
        stub = stage_pb2_grpc.TextureStub(channel)
        reply = stub.PaintTexture(
            stage_pb2.PaintTextureRequest(mesh_glb=mesh_glb, rgba_png=png), timeout=60
        )
        with pytest.raises(grpc.RpcError) as bad_size:
            stub.PaintTexture(
                stage_pb2.PaintTextureRequest(mesh_glb=mesh_glb, rgba_png=png, texture_size=64),
                timeout=10,
            )
        with pytest.raises(grpc.RpcError) as bad_mesh:
            stub.PaintTexture(
                stage_pb2.PaintTextureRequest(mesh_glb=b"not a glb", rgba_png=png), timeout=10
            )
        assert stage.stop() == 0, stage.log_tail()

    assert reply.texture_size == 512  # the stage's configured default
    textured = load_textured(reply.textured_glb)
    assert textured.texture.size == (512, 512)
    rendered, covered = front_render(textured, FrontView(*image.size))
    mask = crops.matte(image)
    truth = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert covered[mask].mean() > 0.97
    assert np.abs(rendered - truth)[mask].mean() <= 20.0
    report = reply.report
    assert (report.backend.backend, report.backend.weights) == ("embedded-projection", "none")
    assert set(report.step_seconds) == {
        "parse",
        "uv_wrap",
        "rasterize_uv",
        "bake",
        "dilate",
        "export",
    }
    assert bad_size.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_mesh.value.code() == grpc.StatusCode.INVALID_ARGUMENT
