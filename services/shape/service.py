"""Shape gRPC servicer: validate -> call the backend through the runtime -> convert."""

from __future__ import annotations

import asyncio

import grpc

from meshpipe.images import decode_rgba
from meshpipe.runtime.model import ModelRunner
from meshpipe.runtime.server import StageSpec, report_pb
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from services.shape.backends import ShapeBackend, ShapeRequest, build_backend
from services.shape.settings import ShapeSettings


class ShapeServicer(stage_pb2_grpc.ShapeServicer):
    """Serves Shape.GenerateShape."""

    def __init__(self, runner: ModelRunner[ShapeBackend]) -> None:
        self.runner = runner

    async def GenerateShape(
        self, request: stage_pb2.GenerateShapeRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.GenerateShapeResponse:
        image = await asyncio.to_thread(
            decode_rgba, request.rgba_png, self.runner.settings.max_image_pixels, what="rgba_png"
        )
        shape_request = ShapeRequest(
            image=image,
            seed=request.seed,
            steps=request.steps,
            octree_resolution=self.runner.backend.resolution(request.octree_resolution),
            guidance_scale=request.guidance_scale,
        )
        result, report = await self.runner.run(
            "GenerateShape", self.runner.backend.generate, shape_request
        )
        return stage_pb2.GenerateShapeResponse(
            mesh_glb=result.glb,
            vertex_count=result.vertex_count,
            face_count=result.face_count,
            watertight=result.watertight,
            report=report_pb(self.runner, report, result.step_seconds),
        )


def _add(server: grpc.aio.Server, runner: ModelRunner[ShapeBackend]) -> None:
    stage_pb2_grpc.add_ShapeServicer_to_server(ShapeServicer(runner), server)


SPEC = StageSpec(
    name="shape",
    settings_cls=ShapeSettings,
    build_backend=build_backend,
    add_servicer=_add,
    service_name=stage_pb2.DESCRIPTOR.services_by_name["Shape"].full_name,
)
