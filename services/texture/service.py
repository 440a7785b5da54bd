"""Texture gRPC servicer: validate -> call the backend through the runtime -> convert."""

from __future__ import annotations

import asyncio

import grpc

from meshpipe.errors import InvalidInput
from meshpipe.images import decode_working_rgba
from meshpipe.runtime.model import ModelRunner
from meshpipe.runtime.server import StageSpec, report_pb
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from services.texture.backends import TextureBackend, TextureRequest, build_backend
from services.texture.settings import TextureSettings


class TextureServicer(stage_pb2_grpc.TextureServicer):
    """Serves Texture.PaintTexture."""

    def __init__(self, runner: ModelRunner[TextureBackend]) -> None:
        self.runner = runner

    async def PaintTexture(
        self, request: stage_pb2.PaintTextureRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.PaintTextureResponse:
        if not request.mesh_glb:  # checked before the model is loaded for it
            raise InvalidInput("mesh_glb is empty (0 bytes)")
        settings = self.runner.settings
        image = await asyncio.to_thread(
            decode_working_rgba,
            request.rgba_png,
            settings.max_image_pixels,
            settings.max_working_side,
        )
        raw = TextureRequest(
            mesh_glb=request.mesh_glb,
            image=image,
            texture_size=request.texture_size,
            seed=request.seed,
        )
        texture_request = self.runner.backend.resolve(raw)  # before any load
        result, report = await self.runner.run(
            "PaintTexture", self.runner.backend.paint, texture_request
        )
        return stage_pb2.PaintTextureResponse(
            textured_glb=result.glb,
            texture_size=result.texture_size,
            report=report_pb(self.runner, report, result.step_seconds),
        )


def _add(server: grpc.aio.Server, runner: ModelRunner[TextureBackend]) -> None:
    stage_pb2_grpc.add_TextureServicer_to_server(TextureServicer(runner), server)


SPEC = StageSpec(
    name="texture",
    settings_cls=TextureSettings,
    build_backend=build_backend,
    add_servicer=_add,
    service_name=stage_pb2.DESCRIPTOR.services_by_name["Texture"].full_name,
)
