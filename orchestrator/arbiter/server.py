"""The standalone arbiter process (`meshpipe arbiter`): gRPC server, /metrics, shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import grpc
from grpc_health.v1 import health

from meshpipe.runtime.auth import InternalGate
from meshpipe.runtime.metrics import MetricsServer
from meshpipe.runtime.process import (
    build_grpc_server,
    configure_logging,
    set_health,
    stop_on_signals,
    write_ready_file,
)
from meshpipe.runtime.security import SecuritySettings, check_bind
from meshpipe.v1 import arbiter_pb2
from orchestrator.arbiter.arbiter import Arbiter
from orchestrator.arbiter.metrics import ArbiterMetrics
from orchestrator.arbiter.service import add_arbiter_service
from orchestrator.arbiter.settings import ArbiterSettings

log = logging.getLogger(__name__)

SERVICE_NAME = arbiter_pb2.DESCRIPTOR.services_by_name["Arbiter"].full_name
_MAX_MESSAGE_BYTES = 4 << 20  # lease messages are tiny


async def create_arbiter_server(
    arbiters: Mapping[int, Arbiter], address: str, security: SecuritySettings | None = None
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """Build (not start) a server for `arbiters`, an internal service (internal token and/or
    mutual TLS from `security`); returns (server, bound port, health)."""
    sec = security or SecuritySettings()
    return build_grpc_server(
        address,
        _MAX_MESSAGE_BYTES,
        lambda server: add_arbiter_service(server, arbiters),
        services=(SERVICE_NAME,),
        gate=InternalGate(sec.internal_secret()),
        credentials=sec.server_tls(sec.tls_client_auth),
    )


async def serve_arbiter(settings: ArbiterSettings) -> None:
    """Run the arbiter of each device in `settings.device_indices()` until SIGTERM/SIGINT."""
    configure_logging(settings.log_level, settings.log_json)
    check_bind("arbiter", settings.host, settings.internal_authenticated(), settings.insecure)
    metrics = ArbiterMetrics()
    metrics_server = MetricsServer.optional(
        metrics.registry, settings.metrics_host, settings.metrics_port
    )
    arbiters = Arbiter.per_device(settings, settings.device_indices(), metrics)
    server, port, health_servicer = await create_arbiter_server(
        arbiters, f"{settings.host}:{settings.port}", settings
    )
    await server.start()
    for arbiter in arbiters.values():
        await arbiter.start()
        await arbiter.check_truth()
    await set_health(health_servicer, ("", SERVICE_NAME))
    stop = asyncio.Event()
    stop_on_signals(stop)
    write_ready_file(
        settings.ready_file,
        {"grpc_port": port, "metrics_port": metrics_server.port if metrics_server else None},
    )
    log.info("arbiter serving devices %s on %s:%d", sorted(arbiters), settings.host, port)
    await stop.wait()
    await health_servicer.enter_graceful_shutdown()
    await server.stop(settings.grace_seconds)
    for arbiter in arbiters.values():
        await arbiter.close()
    if metrics_server:
        metrics_server.close()
    log.info("arbiter stopped")
