"""The services a meshpipe deployment runs, and their ports, as their settings classes see them.

The list of services and their default ports come from the stage catalogue
(`meshpipe.catalogue`); each settings class takes its port defaults from there, and this
module reads them back through the settings class (so that the images, the Docker launcher,
the health probe and the Kubernetes tests agree with what a process really binds).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from pydantic_settings import BaseSettings

from meshpipe import catalogue
from meshpipe.catalogue import STAGES
from meshpipe.runtime.settings import StageSettings

__all__ = [
    "ALL_SERVICES",
    "GATEWAY",
    "SERVICES",
    "STAGES",
    "ServiceDef",
    "service_def",
    "settings_class",
]

# The gRPC services in start-up order: the lease arbiter, the stages, then the orchestrator.
SERVICES = catalogue.services()
# The HTTP gateway, a client of the orchestrator; it serves /metrics on its one HTTP port.
GATEWAY = catalogue.GATEWAY
ALL_SERVICES = (*SERVICES, GATEWAY)


def settings_class(service: str) -> type[BaseSettings]:
    """The settings class of a service (imports only its settings module)."""
    if service == GATEWAY:
        from gateway.settings import GatewaySettings

        return GatewaySettings
    entry = catalogue.entry(service)
    if isinstance(entry, catalogue.ProcessEntry):
        module_name, class_name = entry.settings.split(":")
        cls: type[BaseSettings] = getattr(importlib.import_module(module_name), class_name)
        return cls
    module = importlib.import_module(entry.settings_module)
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
        """True for the model stages, False for the orchestrator and the arbiter."""
        return self.name != GATEWAY and catalogue.entry(self.name).is_stage

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
