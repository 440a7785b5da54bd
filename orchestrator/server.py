"""The orchestrator process: wiring, gRPC server factory and the serve loop."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health

from meshpipe.runtime.metrics import MetricsServer
from meshpipe.runtime.process import (
    build_grpc_server,
    configure_logging,
    set_health,
    stop_on_signals,
    write_ready_file,
)
from meshpipe.v1 import orchestrator_pb2, orchestrator_pb2_grpc
from orchestrator.arbiter.arbiter import Arbiter
from orchestrator.arbiter.metrics import ArbiterMetrics
from orchestrator.arbiter.service import add_arbiter_service
from orchestrator.artifacts import ArtifactStore
from orchestrator.dispatch import Dispatcher, LeaseAwareDispatcher
from orchestrator.domain import Stage
from orchestrator.jobs import JobManager
from orchestrator.lease_view import ArbiterLeaseView, LeaseView, NoLeaseView, RemoteLeaseView
from orchestrator.metrics import OrchestratorMetrics
from orchestrator.pipeline import JobPipeline
from orchestrator.policy import BatchPolicy
from orchestrator.service import OrchestratorServicer
from orchestrator.settings import OrchestratorSettings
from orchestrator.stages import StageClients
from orchestrator.store import JobStore

log = logging.getLogger(__name__)

SERVICE_NAME = orchestrator_pb2.DESCRIPTOR.services_by_name["Orchestrator"].full_name
STORE_FILE = "jobs.sqlite3"


@dataclass
class Orchestrator:
    """The parts of an orchestrator, wired together."""

    settings: OrchestratorSettings
    metrics: OrchestratorMetrics
    store: JobStore
    stages: StageClients
    dispatcher: Dispatcher
    jobs: JobManager
    arbiter: Arbiter | None = None
    remote_view: RemoteLeaseView | None = None

    @classmethod
    async def build(
        cls, settings: OrchestratorSettings, metrics: OrchestratorMetrics | None = None
    ) -> Orchestrator:
        """Open the job store in the output folder and connect (lazily) to the stages."""
        metrics = metrics or OrchestratorMetrics()
        root = settings.output_path()
        store = JobStore(root / STORE_FILE)
        await store.open()
        stages = StageClients(settings, metrics)
        arbiter = await start_arbiter(settings, metrics)
        remote = await start_remote_view(settings)
        view: LeaseView = ArbiterLeaseView(arbiter) if arbiter else remote or NoLeaseView()
        dispatcher = LeaseAwareDispatcher(
            {s: settings.endpoint(s.value).concurrency for s in Stage},
            settings.stage_queue_limit,
            metrics,
            view,
            BatchPolicy(age_bound_seconds=settings.batch_age_bound_seconds),
            settings.batch_max_items,
        )
        pipeline = JobPipeline(stages, dispatcher, settings.limits.max_image_pixels)
        artifacts = ArtifactStore(root, int(settings.disk_reserve_bytes))
        jobs = JobManager(settings, store, artifacts, pipeline, metrics)
        return cls(settings, metrics, store, stages, dispatcher, jobs, arbiter, remote)

    async def close(self) -> None:
        """Stop jobs (resumable), workers, channels and the arbiter; close the store."""
        await self.jobs.close()
        await self.dispatcher.close()
        await self.stages.close()
        if self.arbiter is not None:
            await self.arbiter.close()
        if self.remote_view is not None:
            await self.remote_view.close()
        await self.store.close()


async def start_arbiter(
    settings: OrchestratorSettings, metrics: OrchestratorMetrics
) -> Arbiter | None:
    """The embedded arbiter (its metrics on the orchestrator's registry), started; None when
    disabled or a standalone arbiter is used."""
    if not settings.embedded_arbiter():
        if settings.arbiter_address:
            log.info("using the standalone arbiter at %s", settings.arbiter_address)
        return None
    arbiter = Arbiter.from_settings(settings.arbiter, ArbiterMetrics(metrics.registry))
    await arbiter.start()
    return arbiter


async def start_remote_view(settings: OrchestratorSettings) -> RemoteLeaseView | None:
    """With a standalone arbiter, the view that polls its ledger, started; else None."""
    if not settings.arbiter_address:
        return None
    arb = settings.arbiter
    view = RemoteLeaseView(
        settings.arbiter_address,
        device_index=arb.device_index,
        interval=settings.arbiter_poll_seconds,
        timeout=settings.arbiter_poll_timeout_seconds,
        context_bytes=int(arb.context_bytes),
        estimates={k: int(v) for k, v in arb.estimates.items()},
    )
    await view.start()
    return view


async def create_server(
    app: Orchestrator, address: str
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """Build (not start) the orchestrator's server; returns (server, port, health servicer)."""

    def add_services(server: grpc.aio.Server) -> None:
        servicer = OrchestratorServicer(app.jobs)
        orchestrator_pb2_grpc.add_OrchestratorServicer_to_server(servicer, server)
        if app.arbiter is not None:
            add_arbiter_service(server, {app.arbiter.config.device_index: app.arbiter})

    return build_grpc_server(address, app.settings.max_request_bytes, add_services)


async def set_serving(health_servicer: health.aio.HealthServicer) -> None:
    """Report SERVING for the server and the Orchestrator service."""
    await set_health(health_servicer, ("", SERVICE_NAME))


async def serve(settings: OrchestratorSettings) -> None:
    """Run the orchestrator until SIGTERM/SIGINT, then drain; unfinished jobs stay resumable."""
    configure_logging(settings.log_level, settings.log_json)
    metrics = OrchestratorMetrics()
    metrics_server = MetricsServer.optional(
        metrics.registry, settings.metrics_host, settings.metrics_port
    )
    app = await Orchestrator.build(settings, metrics)
    server, port, health_servicer = await create_server(app, f"{settings.host}:{settings.port}")
    if settings.resume:
        resumed = await app.jobs.resume()
        log.info("resumed %d unfinished job(s)", resumed)
    app.jobs.start_retention()
    await server.start()
    await set_serving(health_servicer)
    stop = asyncio.Event()
    stop_on_signals(stop)
    metrics_port = metrics_server.port if metrics_server else None
    write_ready_file(settings.ready_file, {"grpc_port": port, "metrics_port": metrics_port})
    log.info("orchestrator serving on %s:%d, metrics on %s", settings.host, port, metrics_port)
    await stop.wait()
    log.info("orchestrator: draining (grace %.1fs)", settings.grace_seconds)
    await health_servicer.enter_graceful_shutdown()
    await app.jobs.drain(settings.grace_seconds)
    await app.jobs.close()  # what did not finish resumes at the next start
    await server.stop(1.0)
    await app.close()
    if metrics_server:
        metrics_server.close()
    log.info("orchestrator: stopped")
