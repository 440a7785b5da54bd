"""`meshpipe stage shape` as a real process: ready file, health, GenerateShape over a socket,
typed errors as status codes, graceful SIGTERM."""

from __future__ import annotations

import io

import grpc
import pytest
import trimesh
from PIL import Image

from meshpipe.frontview import FrontView
from meshpipe.images import encode_png
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from tests.support.stage_process import running_stage
from tests.unit.shape import crops


def test_shape_process_serves_meshes_and_stops_cleanly() -> None:
    image = crops.horse()
    with running_stage("shape") as stage, grpc.insecure_channel(stage.grpc_address) as channel:
        stub = stage_pb2_grpc.ShapeStub(channel)
        request = stage_pb2.GenerateShapeRequest(rgba_png=encode_png(image), octree_resolution=64)
        reply = stub.GenerateShape(request, timeout=60)

        with pytest.raises(grpc.RpcError) as bad_resolution:
            stub.GenerateShape(
                stage_pb2.GenerateShapeRequest(rgba_png=encode_png(image), octree_resolution=4),
                timeout=10,
            )
        with pytest.raises(grpc.RpcError) as not_rgba:
            rgb = encode_png(Image.new("RGB", (32, 32)))
            stub.GenerateShape(stage_pb2.GenerateShapeRequest(rgba_png=rgb), timeout=10)
        assert stage.stop() == 0, stage.log_tail()

    scene = trimesh.load_scene(io.BytesIO(reply.mesh_glb), file_type="glb")
    mesh = scene.to_mesh()
    view = FrontView.from_extras(scene.metadata)
    assert view == FrontView(*image.size)
    assert reply.watertight and mesh.is_watertight
    assert (reply.vertex_count, reply.face_count) == (len(mesh.vertices), len(mesh.faces))
    assert crops.iou(crops.front_silhouette(mesh, view), crops.matte(image)) >= 0.9
    report = reply.report
    assert (report.backend.backend, report.backend.weights) == ("embedded-inflate", "none")
    assert {"silhouette", "marching_cubes", "export"} <= set(report.step_seconds)
    assert report.inference_seconds > 0
    assert bad_resolution.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "octree_resolution" in (bad_resolution.value.details() or "")
    assert not_rgba.value.code() == grpc.StatusCode.INVALID_ARGUMENT
