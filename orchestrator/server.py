"""The orchestrator process: wiring, gRPC server factory and the serve loop."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health

from meshpipe.runtime.auth import ClientGate, TokenTable
from meshpipe.runtime.metrics import MetricsServer
from meshpipe.runtime.process import (
    build_grpc_server,
    configure_logging,
    set_health,
    stop_on_signals,
    write_ready_file,
)
from meshpipe.runtime.security import check_bind
from meshpipe.v1 import orchestrator_pb2, orchestrator_pb2_grpc
from orchestrator.arbiter.arbiter import Arbiter
from orchestrator.arbiter.metrics import ArbiterMetrics
from orchestrator.arbiter.server import SERVICE_NAME as ARBITER_SERVICE
from orchestrator.arbiter.server import create_arbiter_server
from orchestrator.artifacts import ArtifactStore
from orchestrator.dispatch import Dispatcher, LeaseAwareDispatcher
from orchestrator.domain import Stage
from orchestrator.footprints import StageFootprints
from orchestrator.jobs import JobManager
from orchestrator.lease_view import ArbiterLeaseView, LeaseView, NoLeaseView, RemoteLeaseView
from orchestrator.metrics import OrchestratorMetrics
from orchestrator.pipeline import JobPipeline
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
    arbiters: dict[int, Arbiter] = field(default_factory=dict)  # embedded, one per GPU
    remote_views: dict[int, RemoteLeaseView] = field(default_factory=dict)
    footprints: StageFootprints | None = None  # what the stages report (lease views)

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
        footprints = StageFootprints(stages.footprint)
        await footprints.start()
        arbiters = await start_arbiters(settings, metrics)
        remote = await start_remote_views(settings, footprints)
        dispatcher = LeaseAwareDispatcher(
            {s: settings.endpoint(s.value).concurrency for s in Stage},
            settings.stage_queue_limit,
            metrics,
            lease_views(settings, arbiters, remote, footprints),
            settings.batch_policy(),
            settings.batch_max_items,
            senders=stages.senders(),
            placement=settings.placement(),
            loader=stages.load if settings.load_ahead else None,
        )
        pipeline = JobPipeline(dispatcher, settings.limits.max_image_pixels)
        artifacts = ArtifactStore(root, int(settings.disk_reserve_bytes))
        jobs = JobManager(settings, store, artifacts, pipeline, metrics)
        return cls(settings, metrics, store, stages, dispatcher, jobs, arbiters, remote, footprints)

    async def close(self) -> None:
        """Stop jobs (resumable), workers, channels and the arbiters; close the store."""
        await self.jobs.close()
        await self.dispatcher.close()
        if self.footprints is not None:
            await self.footprints.close()
        await self.stages.close()
        for arbiter in self.arbiters.values():
            await arbiter.close()
        for view in self.remote_views.values():
            await view.close()
        await self.store.close()


def lease_views(
    settings: OrchestratorSettings,
    arbiters: dict[int, Arbiter],
    remote: dict[int, RemoteLeaseView],
    footprints: StageFootprints | None = None,
) -> dict[int, LeaseView]:
    """The lease view of each GPU the stages are on: its embedded arbiter's ledger, else the
    standalone arbiter's as polled, else none (stages overlap)."""
    views: dict[int, LeaseView] = {}
    for device in set(settings.placement().values()):
        if device in arbiters:
            reported = footprints.known if footprints is not None else dict
            views[device] = ArbiterLeaseView(arbiters[device], reported)
        else:
            views[device] = remote.get(device) or NoLeaseView()
    return views


async def start_arbiters(
    settings: OrchestratorSettings, metrics: OrchestratorMetrics
) -> dict[int, Arbiter]:
    """The embedded arbiters, one per GPU in use (their metrics on the orchestrator's
    registry), started; none when disabled or a standalone arbiter is used."""
    if not settings.embedded_arbiter():
        if settings.arbiter_address:
            log.info("using the standalone arbiter at %s", settings.arbiter_address)
        return {}
    devices = settings.arbiter_devices()
    arbiters = Arbiter.per_device(settings.arbiter, devices, ArbiterMetrics(metrics.registry))
    for arbiter in arbiters.values():
        await arbiter.start()
    return arbiters


async def start_remote_views(
    settings: OrchestratorSettings, footprints: StageFootprints | None = None
) -> dict[int, RemoteLeaseView]:
    """With a standalone arbiter, one view per GPU in use that polls its ledger, started."""
    if not settings.arbiter_address:
        return {}
    arb = settings.arbiter
    views = {}
    for device in sorted(set(settings.placement().values())):
        views[device] = RemoteLeaseView(
            settings.arbiter_address,
            device_index=device,
            interval=settings.arbiter_poll_seconds,
            timeout=settings.arbiter_poll_timeout_seconds,
            context_bytes=int(arb.context_bytes),
            estimates={k: int(v) for k, v in arb.estimates.items()},
            security=settings.client_security(),
            reported=footprints.known if footprints is not None else dict,
        )
        await views[device].start()
    return views


async def create_server(
    app: Orchestrator, address: str
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """Build (not start) the client-facing server (the Orchestrator service only, bearer
    tokens checked when configured); returns (server, port, health servicer)."""
    s = app.settings

    def add_services(server: grpc.aio.Server) -> None:
        servicer = OrchestratorServicer(app.jobs, s.heartbeat_seconds, s.max_page_size)
        orchestrator_pb2_grpc.add_OrchestratorServicer_to_server(servicer, server)

    return build_grpc_server(
        address,
        s.max_request_bytes,
        add_services,
        services=(SERVICE_NAME,),
        gate=ClientGate(TokenTable.load(s.tokens, s.tokens_file)),
        credentials=s.server_tls(client_auth=False),
    )


async def create_internal_server(
    app: Orchestrator, address: str
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer] | None:
    """Build (not start) the internal server of the embedded arbiter (internal token and/or
    mutual TLS); None without an embedded arbiter."""
    if not app.arbiters:
        return None
    return await create_arbiter_server(app.arbiters, address, app.settings)


def check_binds(settings: OrchestratorSettings) -> None:
    """Refuse unauthenticated non-loopback binds (unless `insecure`)."""
    tokens = TokenTable.load(settings.tokens, settings.tokens_file)
    check_bind("orchestrator", settings.host, tokens is not None, settings.insecure)
    if settings.embedded_arbiter():
        authenticated = settings.internal_authenticated()
        check_bind("arbiter", settings.internal_host, authenticated, settings.insecure)


async def set_serving(health_servicer: health.aio.HealthServicer) -> None:
    """Report SERVING for the server and the Orchestrator service."""
    await set_health(health_servicer, ("", SERVICE_NAME))


async def start_internal(app: Orchestrator) -> tuple[grpc.aio.Server | None, int | None]:
    """Start the internal server of the embedded arbiter, if any; (server, port)."""
    s = app.settings
    built = await create_internal_server(app, f"{s.internal_host}:{s.internal_port}")
    if built is None:
        return None, None
    server, port, health_servicer = built
    await server.start()
    await set_health(health_servicer, ("", ARBITER_SERVICE))
    log.info("embedded arbiter serving on the internal port %s:%d", s.internal_host, port)
    return server, port


async def serve(settings: OrchestratorSettings) -> None:
    """Run the orchestrator until SIGTERM/SIGINT, then drain; unfinished jobs stay resumable."""
    configure_logging(settings.log_level, settings.log_json)
    check_binds(settings)
    metrics = OrchestratorMetrics()
    metrics_server = MetricsServer.optional(
        metrics.registry, settings.metrics_host, settings.metrics_port
    )
    app = await Orchestrator.build(settings, metrics)
    server, port, health_servicer = await create_server(app, f"{settings.host}:{settings.port}")
    internal, internal_port = await start_internal(app)
    if settings.resume:
        resumed = await app.jobs.resume()
        log.info("resumed %d unfinished job(s)", resumed)
    app.jobs.start_retention()
    await server.start()
    await set_serving(health_servicer)
    stop = asyncio.Event()
    stop_on_signals(stop)
    metrics_port = metrics_server.port if metrics_server else None
    ports = {"grpc_port": port, "metrics_port": metrics_port, "internal_port": internal_port}
    write_ready_file(settings.ready_file, ports)
    log.info("orchestrator serving on %s:%d, metrics on %s", settings.host, port, metrics_port)
    await stop.wait()
    log.info("orchestrator: draining (grace %.1fs)", settings.grace_seconds)
    await health_servicer.enter_graceful_shutdown()
    await app.jobs.drain(settings.grace_seconds)
    await app.jobs.close()  # what did not finish resumes at the next start
    await server.stop(1.0)
    if internal is not None:
        await internal.stop(1.0)
    await app.close()
    if metrics_server:
        metrics_server.close()
    log.info("orchestrator: stopped")
