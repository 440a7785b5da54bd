"""What every route needs from the app: the orchestrator client, the settings, and the
metadata forwarded with each gRPC call."""

from __future__ import annotations

from fastapi import Request

from gateway.client import Metadata, Orchestrator
from gateway.middleware import GatewayMetrics
from gateway.settings import GatewaySettings


def orchestrator(request: Request) -> Orchestrator:
    """The app's orchestrator client (made in the lifespan)."""
    client: Orchestrator = request.app.state.orchestrator
    return client


def settings(request: Request) -> GatewaySettings:
    """The app's settings."""
    value: GatewaySettings = request.app.state.settings
    return value


def metrics(request: Request) -> GatewayMetrics:
    """The app's metrics."""
    value: GatewayMetrics = request.app.state.metrics
    return value


def call_metadata(request: Request) -> Metadata:
    """gRPC metadata for a call made on behalf of this request: its request id and, when the
    caller sent one, its Authorization header as is (the orchestrator checks it)."""
    metadata = [("x-request-id", str(getattr(request.state, "request_id", "")))]
    auth = request.headers.get("authorization")
    if auth:
        metadata.append(("authorization", auth))
    return metadata
