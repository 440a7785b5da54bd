"""Serve one stage in-process on 127.0.0.1:0 for a test, through its real StageSpec."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc

from meshpipe.runtime.model import ModelRunner
from meshpipe.runtime.registry import load_spec
from meshpipe.runtime.server import create_stage_server


@contextlib.asynccontextmanager
async def serve(
    stage: str, settings: Any
) -> AsyncIterator[tuple[grpc.aio.Channel, ModelRunner[Any]]]:
    """Start the stage's gRPC server with its real backend; yield a channel and the runner."""
    spec = load_spec(stage)
    runner: ModelRunner[Any] = ModelRunner(stage, spec.build_backend(settings), settings)
    server, port, _ = await create_stage_server(spec, runner, "127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel, runner
    finally:
        await server.stop(0)
        await runner.close()
