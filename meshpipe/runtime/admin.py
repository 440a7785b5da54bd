"""StageAdmin servicer: describe / load / unload / status of the stage's model."""

from __future__ import annotations

from typing import Any

import grpc

import meshpipe
from meshpipe.errors import InvalidInput
from meshpipe.runtime.model import ModelRunner, ModelState
from meshpipe.v1 import common_pb2, stage_pb2, stage_pb2_grpc

_TO_PB = {
    ModelState.COLD: common_pb2.MODEL_STATE_COLD,
    ModelState.LOADING: common_pb2.MODEL_STATE_LOADING,
    ModelState.RESIDENT: common_pb2.MODEL_STATE_RESIDENT,
    ModelState.PARKED: common_pb2.MODEL_STATE_PARKED,
    ModelState.UNLOADING: common_pb2.MODEL_STATE_UNLOADING,
}
_FROM_PB: dict[int, ModelState] = {int(v): k for k, v in _TO_PB.items()}


def state_to_pb(state: ModelState) -> common_pb2.ModelState:
    return _TO_PB[state]


def state_from_pb(value: int) -> ModelState:
    return _FROM_PB[value]


class StageAdminServicer(stage_pb2_grpc.StageAdminServicer):
    def __init__(self, runner: ModelRunner[Any]) -> None:
        self.runner = runner

    async def Describe(
        self, request: stage_pb2.DescribeRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.DescribeResponse:
        r = self.runner
        return stage_pb2.DescribeResponse(
            stage=r.stage,
            backend=r.backend.info.to_pb(),
            footprint_estimate_bytes=r.footprint_bytes,
            state=state_to_pb(r.state),
            park_after_seconds=r.settings.park_after,
            unload_after_seconds=r.settings.unload_after,
            version=meshpipe.__version__,
        )

    async def Load(
        self, request: stage_pb2.LoadRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.LoadResponse:
        seconds = await self.runner.load()
        return stage_pb2.LoadResponse(state=state_to_pb(self.runner.state), seconds=seconds)

    async def Unload(
        self, request: stage_pb2.UnloadRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.UnloadResponse:
        target = request.target or common_pb2.MODEL_STATE_COLD
        if target not in (common_pb2.MODEL_STATE_COLD, common_pb2.MODEL_STATE_PARKED):
            raise InvalidInput("target must be MODEL_STATE_PARKED or MODEL_STATE_COLD")
        seconds = await self.runner.unload(state_from_pb(target), request.wait_for_idle)
        return stage_pb2.UnloadResponse(state=state_to_pb(self.runner.state), seconds=seconds)

    async def GetStatus(
        self, request: stage_pb2.GetStatusRequest, context: grpc.aio.ServicerContext
    ) -> stage_pb2.GetStatusResponse:
        r = self.runner
        mem = r.backend.memory()
        c = r.counters
        return stage_pb2.GetStatusResponse(
            state=state_to_pb(r.state),
            in_flight=r.in_flight,
            queued=r.queued,
            idle_seconds=r.idle_seconds,
            cold_loads=c.cold_loads,
            wakes=c.wakes,
            parks=c.parks,
            unloads=c.unloads,
            requests=c.requests,
            device_allocated_bytes=mem.allocated,
            device_reserved_bytes=mem.reserved,
            footprint_bytes=r.footprint_bytes,
        )
