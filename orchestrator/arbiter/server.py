"""The standalone arbiter process (`meshpipe arbiter`): gRPC server, /metrics, shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from meshpipe.runtime.interceptors import ErrorMappingInterceptor
from meshpipe.runtime.metrics import MetricsServer
from meshpipe.runtime.process import (
    configure_logging,
    grpc_options,
    stop_on_signals,
    write_ready_file,
)
from meshpipe.v1 import arbiter_pb2
from orchestrator.arbiter.arbiter import Arbiter
from orchestrator.arbiter.metrics import ArbiterMetrics
from orchestrator.arbiter.service import add_arbiter_service
from orchestrator.arbiter.settings import ArbiterSettings

log = logging.getLogger(__name__)

SERVICE_NAME = arbiter_pb2.DESCRIPTOR.services_by_name["Arbiter"].full_name
_MAX_MESSAGE_BYTES = 4 << 20  # lease messages are tiny


async def create_arbiter_server(
    arbiters: Mapping[int, Arbiter], address: str
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """Build (not start) a server for `arbiters`; returns (server, bound port, health)."""
    server = grpc.aio.server(
        interceptors=[ErrorMappingInterceptor()], options=grpc_options(_MAX_MESSAGE_BYTES)
    )
    add_arbiter_service(server, arbiters)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"could not bind {address}")
    return server, port, health_servicer


async def serve_arbiter(settings: ArbiterSettings) -> None:
    """Run one device's arbiter until SIGTERM/SIGINT."""
    configure_logging(settings.log_level, settings.log_json)
    metrics = ArbiterMetrics()
    metrics_server = (
        MetricsServer(metrics.registry, settings.metrics_host, settings.metrics_port)
        if settings.metrics_port >= 0
        else None
    )
    arbiter = Arbiter.from_settings(settings, metrics)
    server, port, health_servicer = await create_arbiter_server(
        {settings.device_index: arbiter}, f"{settings.host}:{settings.port}"
    )
    await server.start()
    await arbiter.start()
    await arbiter.check_truth()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    stop = asyncio.Event()
    stop_on_signals(stop)
    write_ready_file(
        settings.ready_file,
        {"grpc_port": port, "metrics_port": metrics_server.port if metrics_server else None},
    )
    log.info("arbiter serving device %d on %s:%d", settings.device_index, settings.host, port)
    await stop.wait()
    await health_servicer.enter_graceful_shutdown()
    await server.stop(settings.grace_seconds)
    await arbiter.close()
    if metrics_server:
        metrics_server.close()
    log.info("arbiter stopped")
