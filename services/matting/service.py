"""Matting gRPC servicer: validate -> call the backend through the runtime -> convert."""

from __future__ import annotations

import asyncio

import grpc

from meshpipe.images import decode_image, encode_png
from meshpipe.runtime.model import ModelRunner
from meshpipe.runtime.server import StageSpec, report_pb
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from services.matting.backends import MattingBackend, build_backend
from services.matting.settings import MattingSettings


class MattingServicer(stage_pb2_grpc.MattingServicer):
    """Serves Matting.Matte on the stage's model runner."""

    def __init__(self, runner: ModelRunner[MattingBackend]) -> None:
        self.runner = runner

    async def Matte(
        self, request: stage_pb2.MatteRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.MatteResponse:
        image = await asyncio.to_thread(
            decode_image, request.image, self.runner.settings.max_image_pixels
        )
        result, report = await self.runner.run("Matte", self.runner.backend.matte, image)
        png = await asyncio.to_thread(encode_png, result.rgba)
        return stage_pb2.MatteResponse(
            rgba_png=png,
            foreground_fraction=result.foreground_fraction,
            report=report_pb(self.runner, report),
        )


def _add(server: grpc.aio.Server, runner: ModelRunner[MattingBackend]) -> None:
    stage_pb2_grpc.add_MattingServicer_to_server(MattingServicer(runner), server)


SPEC = StageSpec(
    name="matting",
    settings_cls=MattingSettings,
    build_backend=build_backend,
    add_servicer=_add,
    service_name=stage_pb2.DESCRIPTOR.services_by_name["Matting"].full_name,
)
