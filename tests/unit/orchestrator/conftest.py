"""Fixtures: fake stages on a real socket and an in-process orchestrator server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from meshpipe.v1 import orchestrator_pb2 as pb
from meshpipe.v1 import orchestrator_pb2_grpc
from orchestrator.server import Orchestrator, create_server
from orchestrator.settings import OrchestratorSettings, StageEndpoint
from tests.unit.orchestrator.fakes import Behaviour, start_fake_stages


def make_settings(out: Path, address: str, **overrides: Any) -> OrchestratorSettings:
    """Settings pointing every stage at `address`, writing into `out`, metrics off."""
    endpoints = {
        s: StageEndpoint(address=address, deadline_seconds=10.0)
        for s in ("detector", "matting", "shape", "texture")
    }
    values: dict[str, Any] = {
        "output_dir": str(out),
        "metrics_port": -1,
        "unavailable_wait_seconds": 5.0,
        "retry_backoff_seconds": 0.01,
        **endpoints,
        **overrides,
    }
    return OrchestratorSettings(**values)


@dataclass
class Harness:
    """A running in-process orchestrator and a client stub."""

    app: Orchestrator
    stub: orchestrator_pb2_grpc.OrchestratorStub
    behaviour: Behaviour
    out: Path
    address: str = ""

    async def run_job(self, image: bytes, **kwargs: Any) -> list[pb.JobEvent]:
        """Submit and collect the whole event stream."""
        request = pb.SubmitJobRequest(image=image, **kwargs)
        return [e async for e in self.stub.SubmitJob(request)]


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


@pytest.fixture
async def stage_address(behaviour: Behaviour) -> AsyncIterator[str]:
    server, address = await start_fake_stages(behaviour)
    yield address
    await server.stop(0)


@asynccontextmanager
async def running_orchestrator(
    settings: OrchestratorSettings, behaviour: Behaviour
) -> AsyncIterator[Harness]:
    """An orchestrator server on 127.0.0.1:0 with the given settings, and a stub to it."""
    app = await Orchestrator.build(settings)
    server, port, _ = await create_server(app, "127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub = orchestrator_pb2_grpc.OrchestratorStub(channel)
        yield Harness(app, stub, behaviour, settings.output_path(), f"127.0.0.1:{port}")
    finally:
        await channel.close()
        await server.stop(0)
        await app.close()


@pytest.fixture
async def orch(tmp_path: Path, stage_address: str, behaviour: Behaviour) -> AsyncIterator[Harness]:
    async with running_orchestrator(make_settings(tmp_path, stage_address), behaviour) as h:
        yield h
