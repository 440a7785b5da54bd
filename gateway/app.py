"""The gateway's FastAPI app, built by `create_app(settings)` (nothing happens at import)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway import deps, routes_artifacts, routes_events, routes_generate, routes_jobs, studio
from gateway.client import Orchestrator
from gateway.middleware import GatewayMetrics, RequestMiddleware
from gateway.problems import install_handlers
from gateway.settings import GatewaySettings

DESCRIPTION = (
    "meshpipe's HTTP face: submit photos, follow jobs as Server-Sent Events, download "
    "meshes, and the serverless contract at /v1/generate. Errors are application/problem+json "
    "(RFC 9457). See docs/gateway.md."
)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """A gateway app talking to `settings.orchestrator` (the channel opens in the lifespan)."""
    settings = settings or GatewaySettings()
    metrics = GatewayMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.orchestrator = Orchestrator(
            settings.orchestrator,
            settings.rpc_timeout_seconds,
            settings.max_message_bytes,
            settings.tls_ca_file,
        )
        try:
            yield
        finally:
            await app.state.orchestrator.close()

    app = FastAPI(title="meshpipe gateway", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = metrics
    install_handlers(app)
    for module in (routes_jobs, routes_events, routes_artifacts, routes_generate, studio):
        app.include_router(module.router)
    _add_operations(app)
    studio.mount_static(app, settings.vendor_dir)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "Last-Event-ID",
                "X-Request-ID",
            ],
            expose_headers=["ETag", "Content-Range", "Location", "Retry-After", "X-Request-ID"],
        )
    app.add_middleware(RequestMiddleware, metrics=metrics)
    return app


def _add_operations(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The gateway process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz(client: Annotated[Orchestrator, Depends(deps.orchestrator)]) -> Any:
        """Ready when the orchestrator answers (503 otherwise)."""
        if await client.ready():
            return {"status": "ready", "orchestrator": client.address}
        body = {"status": "unavailable", "orchestrator": client.address}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def prometheus(metrics: Annotated[GatewayMetrics, Depends(deps.metrics)]) -> Response:
        """Prometheus text: requests by route and status, latency, open event streams."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
