"""The services a meshpipe deployment runs, and their ports, read from their settings classes.

One place answers "which port does the matting stage listen on" for the images, the Docker
launcher, the health probe and the Kubernetes tests: the defaults of each service's settings
class (`services/<stage>/settings.py`, `orchestrator/settings.py`,
`orchestrator/arbiter/settings.py`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from pydantic_settings import BaseSettings

from meshpipe.runtime.settings import StageSettings

STAGES = ("detector", "matting", "shape", "texture")
# The gRPC services in start-up order: the lease arbiter, the stages, then the orchestrator.
SERVICES = ("arbiter", *STAGES, "orchestrator")
# The HTTP gateway, a client of the orchestrator; it serves /metrics on its one HTTP port.
GATEWAY = "gateway"
ALL_SERVICES = (*SERVICES, GATEWAY)


def settings_class(service: str) -> type[BaseSettings]:
    """The settings class of a service (imports only its settings module)."""
    if service == GATEWAY:
        from gateway.settings import GatewaySettings

        return GatewaySettings
    if service == "orchestrator":
        from orchestrator.settings import OrchestratorSettings

        return OrchestratorSettings
    if service == "arbiter":
        from orchestrator.arbiter.settings import ArbiterSettings

        return ArbiterSettings
    if service not in STAGES:
        raise ValueError(f"unknown service {service!r}; expected one of {', '.join(ALL_SERVICES)}")
    module = importlib.import_module(f"services.{service}.settings")
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, StageSettings)
        and obj.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise RuntimeError(f"{module.__name__} must define exactly one StageSettings subclass")
    return found[0]


@dataclass(frozen=True)
class ServiceDef:
    """Static facts about one service: its default ports and environment prefix."""

    name: str
    grpc_port: int
    metrics_port: int
    env_prefix: str

    @property
    def is_stage(self) -> bool:
        """True for the four model stages, False for the orchestrator and the arbiter."""
        return self.name in STAGES

    def env(self, field: str) -> str:
        """Environment variable of a settings field, e.g. env('port') = MESHPIPE_MATTING_PORT."""
        return f"{self.env_prefix}{field.upper()}"


def service_def(service: str) -> ServiceDef:
    """The ServiceDef of a service, from its settings class defaults."""
    cls = settings_class(service)
    fields = cls.model_fields
    port = int(fields["port"].default)
    return ServiceDef(
        name=service,
        grpc_port=port,  # the gateway's HTTP port
        metrics_port=port if service == GATEWAY else int(fields["metrics_port"].default),
        env_prefix=str(cls.model_config.get("env_prefix", "")),
    )
