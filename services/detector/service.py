"""Detector gRPC servicer: validate -> call the backend through the runtime -> convert."""

from __future__ import annotations

import asyncio

import grpc

from meshpipe.images import decode_image, fit_within
from meshpipe.runtime.memory import release_after
from meshpipe.runtime.model import ModelRunner
from meshpipe.runtime.server import StageSpec, report_pb
from meshpipe.v1 import common_pb2, stage_pb2, stage_pb2_grpc
from services.detector.backends import DetectorBackend, DetectResult, build_backend
from services.detector.options import DetectOptions, check_prompt
from services.detector.settings import DetectorSettings


class DetectorServicer(stage_pb2_grpc.DetectorServicer):
    """Serves Detector.Detect on the stage's model runner."""

    def __init__(self, runner: ModelRunner[DetectorBackend]) -> None:
        if not isinstance(runner.settings, DetectorSettings):
            raise TypeError("the detector servicer needs DetectorSettings")
        self.runner = runner
        self.settings = runner.settings

    async def Detect(
        self, request: stage_pb2.DetectRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.DetectResponse:
        options = DetectOptions.resolve(
            request.max_objects, request.min_area_fraction, request.nms_iou, self.settings
        )
        prompt = check_prompt(request.prompt)
        image = await asyncio.to_thread(decode_image, request.image, self.settings.max_image_pixels)
        size = image.size
        work = await asyncio.to_thread(fit_within, image, self.settings.max_working_side)
        del image  # only the working copy stays in memory
        result, report = await self.runner.run(
            "Detect", self.runner.backend.detect, work, prompt, options
        )
        scale = (size[0] / work.width, size[1] / work.height)
        await asyncio.to_thread(release_after, size[0] * size[1])
        return to_pb(result, *size, report_pb(self.runner, report), scale)


def to_pb(
    result: DetectResult,
    width: int,
    height: int,
    report: common_pb2.StageReport,
    scale: tuple[float, float] = (1.0, 1.0),
) -> stage_pb2.DetectResponse:
    """The wire form of a detection result; boxes found on a downscaled working copy are
    scaled by `scale` (input pixels per working pixel) back to the input's coordinates."""
    sx, sy = scale
    return stage_pb2.DetectResponse(
        detections=[
            stage_pb2.Detection(
                box=common_pb2.Box(
                    x1=min(d.box.x1 * sx, width),
                    y1=min(d.box.y1 * sy, height),
                    x2=min(d.box.x2 * sx, width),
                    y2=min(d.box.y2 * sy, height),
                ),
                label=d.label,
                score=d.score,
            )
            for d in result.detections
        ],
        category_filtering_applied=result.category_filtering_applied,
        notices=result.notices,
        image_width=width,
        image_height=height,
        report=report,
    )


def _add(server: grpc.aio.Server, runner: ModelRunner[DetectorBackend]) -> None:
    stage_pb2_grpc.add_DetectorServicer_to_server(DetectorServicer(runner), server)


SPEC = StageSpec(
    name="detector",
    settings_cls=DetectorSettings,
    build_backend=build_backend,
    add_servicer=_add,
    service_name=stage_pb2.DESCRIPTOR.services_by_name["Detector"].full_name,
)
