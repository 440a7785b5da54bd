"""Matting gRPC servicer: validate -> call the backend through the runtime -> convert."""

from __future__ import annotations

import asyncio

import grpc

from meshpipe.images import decode_image, encode_png, fit_within
from meshpipe.runtime.memory import release_after
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
        settings = self.runner.settings
        image = await asyncio.to_thread(decode_image, request.image, settings.max_image_pixels)
        pixels = image.width * image.height
        work = await asyncio.to_thread(fit_within, image, settings.max_working_side)
        del image  # the matte is made and returned at the working size
        result, report = await self.runner.run("Matte", self.runner.backend.matte, work)
        png = await asyncio.to_thread(encode_png, result.rgba)
        fraction = result.foreground_fraction
        del result, work
        await asyncio.to_thread(release_after, pixels)
        return stage_pb2.MatteResponse(
            rgba_png=png,
            foreground_fraction=fraction,
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
