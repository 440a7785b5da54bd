"""What the Docker launcher creates, as plain data: names, labels and container specs.

Pure functions of a LaunchConfig (no engine calls), so that every choice -- which ports are
published and where, which containers get GPUs, what the orchestrator is told about the
stages -- is testable without Docker.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from meshpipe.launcher.docker_services import GATEWAY, SERVICES, STAGES, ServiceDef, service_def
from meshpipe.runtime.security import is_loopback

LABEL_PROJECT = "io.meshpipe.project"
LABEL_SERVICE = "io.meshpipe.service"
LABEL_CONFIG = "io.meshpipe.config-hash"
LABEL_MANAGED = "io.meshpipe.managed-by"
MANAGER = "meshpipe-docker-launcher"
WEIGHTS_MOUNT = "/weights"
OUTPUT_MOUNT = "/var/lib/meshpipe/out"


@dataclass(frozen=True)
class LaunchConfig:
    """How `meshpipe up` runs the system on one Docker host."""

    project: str = "meshpipe"
    image_prefix: str = "meshpipe-"
    tag: str = "dev"
    publish_host: str = "127.0.0.1"
    port: int = 50051  # orchestrator gRPC on the host; 0 = any free port
    metrics_base_port: int | None = 9100  # orchestrator; stages and arbiter follow; None = off
    gpus: str | None = None  # None, "all" or a comma-separated list of device ids
    gpu_services: tuple[str, ...] = STAGES
    arbiter: bool = True
    gateway: bool = True  # the HTTP gateway (REST, SSE, studio page)
    http_port: int = 8080  # the gateway on the host; 0 = any free port
    weights_dir: str | None = None  # host folder mounted read-only at /weights in the stages
    env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # service -> extra env
    grace_seconds: float = 10.0

    @property
    def services(self) -> tuple[str, ...]:
        """Services to run, in start-up order."""
        grpc = tuple(s for s in SERVICES if self.arbiter or s != "arbiter")
        return (*grpc, GATEWAY) if self.gateway else grpc

    @property
    def network(self) -> str:
        """Name of the project's bridge network."""
        return f"{self.project}-net"

    @property
    def output_volume(self) -> str:
        """Named volume holding the orchestrator's job store and artifacts."""
        return f"{self.project}-out"

    def image(self, service: str) -> str:
        """Image reference of a service."""
        return f"{self.image_prefix}{service}:{self.tag}"

    def container_name(self, service: str) -> str:
        """Container name of a service."""
        return f"{self.project}-{service}"

    def labels(self, service: str | None = None) -> dict[str, str]:
        """Labels put on everything the launcher creates (service-specific when given)."""
        labels = {LABEL_PROJECT: self.project, LABEL_MANAGED: MANAGER}
        if service:
            labels[LABEL_SERVICE] = service
        return labels


def host_metrics_port(config: LaunchConfig, service: str) -> int | None:
    """Host port publishing a service's /metrics (None = not published, 0 = any free).

    The base port stands for the orchestrator's default metrics port; every other service
    keeps its default's distance from it (base 9100: 9100-9104 and 9110, as the defaults).
    """
    if config.metrics_base_port is None:
        return None
    if config.metrics_base_port == 0:
        return 0
    offset = service_def(service).metrics_port - service_def("orchestrator").metrics_port
    return config.metrics_base_port + offset


def published_ports(config: LaunchConfig, svc: ServiceDef) -> dict[str, tuple[str, int | None]]:
    """Ports bound on the host: the orchestrator's gRPC port and, when enabled, /metrics;
    the gateway's one HTTP port (its /metrics included)."""
    ports: dict[str, tuple[str, int | None]] = {}
    if svc.name == GATEWAY:
        return {f"{svc.grpc_port}/tcp": (config.publish_host, config.http_port or None)}
    if svc.name == "orchestrator":
        ports[f"{svc.grpc_port}/tcp"] = (config.publish_host, config.port or None)
    metrics = host_metrics_port(config, svc.name)
    if metrics is not None:
        ports[f"{svc.metrics_port}/tcp"] = (config.publish_host, metrics or None)
    return ports


def service_env(config: LaunchConfig, svc: ServiceDef) -> dict[str, str]:
    """Environment of a service's container: wiring first, the user's --env last (wins)."""
    env: dict[str, str] = {}
    if svc.is_stage and config.arbiter:
        arbiter = service_def("arbiter")
        env[svc.env("arbiter_address")] = f"arbiter:{arbiter.grpc_port}"
    if svc.name == "orchestrator":  # the arbiter container, never a second (embedded) one
        if config.arbiter:
            env[svc.env("arbiter_address")] = f"arbiter:{service_def('arbiter').grpc_port}"
        else:
            env[svc.env("arbiter_enabled")] = "false"
    if svc.name == "orchestrator":
        for stage in STAGES:
            env[f"{svc.env_prefix}{stage.upper()}__ADDRESS"] = (
                f"{stage}:{service_def(stage).grpc_port}"
            )
    if is_loopback(config.publish_host):
        # Containers bind 0.0.0.0 on the project's private network; only the orchestrator
        # is published, on loopback. Say so explicitly (docs/security.md): anything that
        # publishes elsewhere must configure tokens / TLS through --env instead.
        env[svc.env("insecure")] = "true"
    if svc.name == GATEWAY:
        env[svc.env("orchestrator")] = f"orchestrator:{service_def('orchestrator').grpc_port}"
    if svc.name == "matting" and config.weights_dir:
        env[svc.env("weights_dir")] = WEIGHTS_MOUNT
    if config.gpus and uses_gpu(config, svc.name):
        # Images without a CUDA base set no capabilities; the NVIDIA runtime then only
        # exposes NVML. Stages compute; the arbiter only reads memory through NVML.
        env["NVIDIA_DRIVER_CAPABILITIES"] = "compute,utility" if svc.is_stage else "utility"
    env.update(config.env.get(svc.name, {}))
    return env


def uses_gpu(config: LaunchConfig, service: str) -> bool:
    """Whether a service's container requests GPUs (stages asked for, and the arbiter)."""
    return bool(config.gpus) and (service in config.gpu_services or service == "arbiter")


def device_requests(config: LaunchConfig, service: str) -> list[dict[str, Any]]:
    """Docker device requests (the SDK's DeviceRequest fields) for a service."""
    if not uses_gpu(config, service) or config.gpus is None:
        return []
    if config.gpus == "all":
        return [{"count": -1, "capabilities": [["gpu"]]}]
    ids = [d.strip() for d in config.gpus.split(",") if d.strip()]
    return [{"device_ids": ids, "capabilities": [["gpu"]]}]


def mounts(config: LaunchConfig, svc: ServiceDef) -> dict[str, dict[str, str]]:
    """Volumes: weights read-only into the stages, the output volume into the orchestrator."""
    volumes: dict[str, dict[str, str]] = {}
    if svc.is_stage and config.weights_dir:
        volumes[config.weights_dir] = {"bind": WEIGHTS_MOUNT, "mode": "ro"}
    if svc.name == "orchestrator":
        volumes[config.output_volume] = {"bind": OUTPUT_MOUNT, "mode": "rw"}
    return volumes


def container_spec(config: LaunchConfig, service: str) -> dict[str, Any]:
    """Keyword arguments of `client.containers.run` for a service (detach=True implied)."""
    svc = service_def(service)
    return {
        "image": config.image(service),
        "name": config.container_name(service),
        "hostname": service,
        "labels": config.labels(service),
        "environment": service_env(config, svc),
        "ports": published_ports(config, svc),
        "volumes": mounts(config, svc),
        "device_requests": device_requests(config, service),
        "network": config.network,
        # Stages are reached by service name (detector:50061), as on Kubernetes.
        "networking_config": {config.network: {"Aliases": [service]}},
        "restart_policy": {"Name": "unless-stopped"},
        "init": True,
        "stop_signal": "SIGTERM",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
    }


def config_hash(spec: Mapping[str, Any], image_id: str) -> str:
    """Digest of a container's spec and image: a change means the container is recreated."""
    payload = json.dumps({"spec": spec, "image": image_id}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
