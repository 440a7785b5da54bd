"""A stage process: spec, gRPC server factory and the serve loop with graceful shutdown."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health

from meshpipe.runtime.admin import StageAdminServicer
from meshpipe.runtime.auth import InternalGate
from meshpipe.runtime.backend import Backend
from meshpipe.runtime.lease_client import GrpcLease
from meshpipe.runtime.metrics import MetricsServer, StageMetrics
from meshpipe.runtime.model import ModelRunner, RunReport
from meshpipe.runtime.process import (
    build_grpc_server,
    configure_logging,
    set_health,
    stop_on_signals,
    write_ready_file,
)
from meshpipe.runtime.security import check_bind
from meshpipe.runtime.settings import StageSettings
from meshpipe.runtime.simdevice import build_simulated
from meshpipe.runtime.worker import WorkerBackend
from meshpipe.v1 import common_pb2, stage_pb2, stage_pb2_grpc

log = logging.getLogger(__name__)

ADMIN_SERVICE = stage_pb2.DESCRIPTOR.services_by_name["StageAdmin"].full_name


@dataclass(frozen=True)
class StageSpec:
    """Everything the runtime needs to serve one stage."""

    name: str
    settings_cls: type[StageSettings]
    build_backend: Callable[[Any], Backend]  # called with an instance of settings_cls
    add_servicer: Callable[[grpc.aio.Server, Any], None]  # called with the ModelRunner
    service_name: str  # full gRPC name of the inference service, for health


def report_pb(
    runner: ModelRunner[Any], report: RunReport, steps: Mapping[str, float] | None = None
) -> common_pb2.StageReport:
    """The StageReport every inference response carries (steps also go to the metrics)."""
    if steps:
        runner.metrics.observe_steps(steps)
    return common_pb2.StageReport(
        backend=runner.backend.info.to_pb(),
        inference_seconds=report.inference_seconds,
        load_wait_seconds=report.load_wait_seconds,
        step_seconds=dict(steps or {}),
        peak_device_bytes=report.peak_device_bytes,
    )


def build_stage_backend(spec: StageSpec, settings: StageSettings) -> Backend:
    """The stage's backend (on a simulated device when configured), in this process or, with
    `worker_mode=subprocess`, in a worker process that exits when the model goes COLD."""
    factory = functools.partial(build_simulated, spec.build_backend)
    if settings.worker_mode == "subprocess":
        return WorkerBackend(factory, settings, spec.name, settings.worker_start_timeout)
    return factory(settings)


async def create_stage_server(
    spec: StageSpec, runner: ModelRunner[Any], address: str
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """Build (not start) the stage's server; returns (server, bound port, health servicer)."""

    def add_services(server: grpc.aio.Server) -> None:
        spec.add_servicer(server, runner)
        stage_pb2_grpc.add_StageAdminServicer_to_server(StageAdminServicer(runner), server)

    settings: StageSettings = runner.settings
    return build_grpc_server(
        address,
        settings.max_message_bytes,
        add_services,
        services=(spec.service_name, ADMIN_SERVICE),
        gate=InternalGate(settings.internal_secret()),
        credentials=settings.server_tls(settings.tls_client_auth),
    )


async def set_serving(
    health_servicer: health.aio.HealthServicer, spec: StageSpec, ok: bool
) -> None:
    await set_health(health_servicer, ("", spec.service_name, ADMIN_SERVICE), ok)


async def serve_stage(spec: StageSpec, settings: StageSettings) -> None:
    """Run a stage process until SIGTERM/SIGINT, then drain and unload."""
    configure_logging(settings.log_level, settings.log_json)
    check_bind(
        f"{spec.name} stage", settings.host, settings.internal_authenticated(), settings.insecure
    )
    metrics = StageMetrics(spec.name)
    metrics_server = MetricsServer.optional(
        metrics.registry, settings.metrics_host, settings.metrics_port
    )
    backend = build_stage_backend(spec, settings)
    lease = GrpcLease.from_settings(settings, spec.name) if settings.arbiter_address else None
    runner = ModelRunner(spec.name, backend, settings, metrics, lease=lease)
    if lease is not None:
        lease.attach(runner)
    server, port, health_servicer = await create_stage_server(
        spec, runner, f"{settings.host}:{settings.port}"
    )
    await server.start()
    await runner.start()
    await set_serving(health_servicer, spec, True)
    stop = asyncio.Event()
    stop_on_signals(stop)
    write_ready_file(
        settings.ready_file,
        {"grpc_port": port, "metrics_port": metrics_server.port if metrics_server else None},
    )
    log.info(
        "%s stage serving on %s:%d (backend %s), metrics on %s",
        spec.name,
        settings.host,
        port,
        backend.info.backend,
        metrics_server.port if metrics_server else "off",
    )
    await stop.wait()
    log.info("%s stage: draining (grace %.1fs)", spec.name, settings.grace_seconds)
    await health_servicer.enter_graceful_shutdown()
    await server.stop(settings.grace_seconds)
    await runner.close()
    if lease is not None:
        await lease.close()
    if metrics_server:
        metrics_server.close()
    log.info("%s stage: stopped", spec.name)
