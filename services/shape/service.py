"""Shape gRPC servicer: validate -> call the backend through the runtime -> convert."""

from __future__ import annotations

import asyncio

import grpc

from meshpipe.errors import InvalidInput, MeshpipeError, to_status
from meshpipe.images import decode_working_rgba
from meshpipe.runtime.model import ModelRunner, RunReport
from meshpipe.runtime.server import StageSpec, report_pb
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from services.shape.backends import (
    ShapeBackend,
    ShapeRequest,
    ShapeResult,
    build_backend,
    check_target_faces,
)
from services.shape.settings import ShapeSettings


class ShapeServicer(stage_pb2_grpc.ShapeServicer):
    """Serves Shape.GenerateShape and Shape.GenerateShapeBatch."""

    def __init__(self, runner: ModelRunner[ShapeBackend]) -> None:
        self.runner = runner

    async def GenerateShape(
        self, request: stage_pb2.GenerateShapeRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.GenerateShapeResponse:
        shape_request = await self._decode(request)
        result, report = await self.runner.run(
            "GenerateShape", self.runner.backend.generate, shape_request
        )
        return self._response(result, report)

    async def GenerateShapeBatch(
        self, request: stage_pb2.GenerateShapeBatchRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.GenerateShapeBatchResponse:
        limit = self.runner.backend.settings.max_batch
        if not 1 <= len(request.items) <= limit:
            raise InvalidInput(f"a batch holds 1 to {limit} items, got {len(request.items)}")
        outcomes: list[ShapeRequest | MeshpipeError] = []
        for item in request.items:
            try:
                outcomes.append(await self._decode(item))
            except MeshpipeError as exc:  # this item's error; its siblings go on
                outcomes.append(exc)
        valid = [o for o in outcomes if isinstance(o, ShapeRequest)]
        results: list[ShapeResult | MeshpipeError] = []
        report: RunReport | None = None
        if valid:
            results, report = await self.runner.run(
                "GenerateShapeBatch", self.runner.backend.generate_batch, valid
            )
        done = iter(results)
        items = []
        for outcome in outcomes:
            result = next(done) if isinstance(outcome, ShapeRequest) else outcome
            if isinstance(result, ShapeResult):
                assert report is not None  # a result comes only from the model call
                items.append(stage_pb2.ShapeBatchItem(result=self._response(result, report)))
            else:
                code, message, _ = to_status(result)
                items.append(
                    stage_pb2.ShapeBatchItem(
                        error=stage_pb2.ItemError(code=code.name, message=message)
                    )
                )
        return stage_pb2.GenerateShapeBatchResponse(items=items)

    async def _decode(self, request: stage_pb2.GenerateShapeRequest) -> ShapeRequest:
        settings = self.runner.settings
        image = await asyncio.to_thread(
            decode_working_rgba,
            request.rgba_png,
            settings.max_image_pixels,
            settings.max_working_side,
        )
        raw = ShapeRequest(
            image=image,
            seed=request.seed,
            steps=request.steps,
            octree_resolution=request.octree_resolution,
            guidance_scale=request.guidance_scale,
            target_faces=check_target_faces(request.target_faces),
        )
        return self.runner.backend.resolve(raw)  # before any load: a bad knob loads nothing

    def _response(self, result: ShapeResult, report: RunReport) -> stage_pb2.GenerateShapeResponse:
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
