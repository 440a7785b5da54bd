"""Start, inspect and tear down a whole meshpipe system on one Docker host (Docker SDK).

The docker-compose of this project: one labelled bridge network, one container per service
(the lease arbiter, the four stages, the orchestrator), GPU device requests when asked,
waits on gRPC health, and only the orchestrator (and /metrics) published on the host.
Everything created carries the project's labels, so `up` is idempotent (an unchanged,
running container is kept; a changed or dead one is replaced) and `down` finds every piece
again, even after a crash of the launcher.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from meshpipe import catalogue
from meshpipe.launcher.docker_config import (
    LABEL_CONFIG,
    LABEL_PROJECT,
    LABEL_SERVICE,
    LaunchConfig,
    config_hash,
    container_spec,
)
from meshpipe.launcher.docker_healthcheck import probe
from meshpipe.launcher.docker_services import service_def

log = logging.getLogger(__name__)

PROBE = ["python", "-m", "meshpipe.launcher.docker_healthcheck"]


class LauncherError(RuntimeError):
    """A failure worth one clear line to the user (engine down, image missing, crash)."""


def connect(timeout: float = 30.0) -> Any:
    """A Docker client for DOCKER_HOST (or the local socket), checked with a ping."""
    try:
        import docker
    except ImportError as exc:
        raise LauncherError("the Docker SDK is missing: pip install 'docker>=7'") from exc
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except docker.errors.DockerException as exc:
        reason = str(exc).splitlines()[0][:160]
        raise LauncherError(
            f"Docker engine not reachable at {where} ({reason}); start dockerd or set DOCKER_HOST"
        ) from exc
    return client


@dataclass
class ServiceStatus:
    """One row of `meshpipe ps`."""

    service: str
    container: str
    state: str
    health: str
    ports: dict[str, str] = field(default_factory=dict)  # "50051/tcp" -> "127.0.0.1:50051"

    def host_address(self, container_port: int) -> str | None:
        """Host address publishing a container port, if any."""
        return self.ports.get(f"{container_port}/tcp")


class DockerLauncher:
    """Bring the system described by a LaunchConfig up and down on one engine."""

    def __init__(self, client: Any, config: LaunchConfig) -> None:
        self.client = client
        self.config = config

    # ---- up -------------------------------------------------------------------------
    def up(self, timeout: float = 180.0) -> list[ServiceStatus]:
        """Create what is missing, replace what changed, wait until everything is healthy."""
        images = self._image_ids()
        self._remove_orphans()
        self._ensure_network()
        self._ensure_volume()
        groups = [[e.name for e in group] for group in catalogue.start_groups()]
        groups.append([catalogue.GATEWAY])  # a client of the orchestrator: last
        deadline = time.monotonic() + timeout
        for group in groups:
            started = [
                self._ensure_container(s, images[s]) for s in group if s in self.config.services
            ]
            for service, container in started:
                self._wait_healthy(service, container, deadline)
        self._check_published_orchestrator(deadline)
        return self.ps()

    def _image_ids(self) -> dict[str, str]:
        from docker.errors import ImageNotFound

        ids, missing = {}, []
        for service in self.config.services:
            ref = self.config.image(service)
            try:
                ids[service] = self.client.images.get(ref).id
            except ImageNotFound:
                missing.append(ref)
        if missing:
            raise LauncherError(
                f"image(s) not found: {', '.join(missing)}; build them with "
                f"TAG={self.config.tag} deploy/docker/build-images.sh"
            )
        return ids

    def _remove_orphans(self) -> None:
        """Containers of the project for services no longer wanted (e.g. --no-arbiter)."""
        for c in self.containers():
            if c.labels.get(LABEL_SERVICE) not in self.config.services:
                log.info("%s: removing (no longer part of the deployment)", c.name)
                c.remove(force=True)

    def _ensure_network(self) -> None:
        name = self.config.network
        found = [n for n in self.client.networks.list(names=[name]) if n.name == name]
        if not found:
            self.client.networks.create(name, driver="bridge", labels=self.config.labels())
            log.info("created network %s", name)
        elif (found[0].attrs.get("Labels") or {}).get(LABEL_PROJECT) != self.config.project:
            raise LauncherError(f"network {name} exists but was not created by meshpipe")

    def _ensure_volume(self) -> None:
        from docker.errors import NotFound

        name = self.config.output_volume
        try:
            self.client.volumes.get(name)
        except NotFound:
            self.client.volumes.create(name, labels=self.config.labels("orchestrator"))
            log.info("created volume %s", name)

    def _ensure_container(self, service: str, image_id: str) -> tuple[str, Any]:
        from docker.errors import NotFound

        spec = container_spec(self.config, service)
        digest = config_hash(spec, image_id)
        try:
            current = self.client.containers.get(spec["name"])
        except NotFound:
            current = None
        if current is not None:
            labels = current.labels or {}
            if labels.get(LABEL_PROJECT) != self.config.project:
                raise LauncherError(f"container {spec['name']} exists but was not made by meshpipe")
            if labels.get(LABEL_CONFIG) == digest and current.status == "running":
                log.info("%s: up to date", spec["name"])
                return service, current
            log.info("%s: replacing (%s)", spec["name"], current.status)
            current.remove(force=True)
        kwargs = dict(spec)
        kwargs["labels"] = {**spec["labels"], LABEL_CONFIG: digest}
        container = self.client.containers.run(detach=True, **kwargs)
        log.info("%s: started", spec["name"])
        return service, container

    def _wait_healthy(self, service: str, container: Any, deadline: float) -> None:
        restarts = container.attrs.get("RestartCount", 0)
        while True:
            container.reload()
            state = container.attrs["State"]
            if state.get("Health", {}).get("Status") == "healthy":
                return
            crashed = container.attrs.get("RestartCount", 0) > restarts
            if state["Status"] in ("exited", "dead") or crashed:
                raise LauncherError(
                    f"{container.name} stopped (exit {state.get('ExitCode')}); last log lines:\n"
                    + _tail(container, 15)
                    + "\nrun `meshpipe down` to clean up"
                )
            if state["Status"] == "running":
                code, _ = container.exec_run([*PROBE, service, "--timeout", "2"])
                if code == 0:
                    log.info("%s: healthy", container.name)
                    return
            if time.monotonic() > deadline:
                raise LauncherError(
                    f"{container.name} not healthy in time:\n{_tail(container, 15)}"
                )
            time.sleep(1.0)

    def _check_published_orchestrator(self, deadline: float) -> None:
        """The orchestrator answers health on its published host address."""
        row = next((r for r in self.ps() if r.service == "orchestrator"), None)
        address = row.host_address(service_def("orchestrator").grpc_port) if row else None
        if address is None:
            return
        while probe(address, timeout=2.0) != "SERVING":
            if time.monotonic() > deadline:
                raise LauncherError(f"orchestrator not reachable on {address}")
            time.sleep(0.5)

    # ---- ps / logs / down --------------------------------------------------------------
    def containers(self) -> list[Any]:
        """Every container of the project, any state, in start-up order."""
        found = self.client.containers.list(
            all=True, filters={"label": f"{LABEL_PROJECT}={self.config.project}"}
        )
        order = {s: i for i, s in enumerate(self.config.services)}
        return sorted(found, key=lambda c: order.get(c.labels.get(LABEL_SERVICE, ""), 99))

    def ps(self) -> list[ServiceStatus]:
        """Status of every container of the project."""
        rows = []
        for c in self.containers():
            state = c.attrs["State"]
            ports = {
                port: f"{b[0]['HostIp']}:{b[0]['HostPort']}"
                for port, b in (c.attrs["NetworkSettings"].get("Ports") or {}).items()
                if b
            }
            health = state.get("Health", {}).get("Status", "-")
            rows.append(
                ServiceStatus(c.labels.get(LABEL_SERVICE, "?"), c.name, c.status, health, ports)
            )
        return rows

    def logs(self, service: str, tail: int = 100, follow: bool = False) -> Iterator[bytes]:
        """Log bytes of a service's container (a stream when following)."""
        match = [c for c in self.containers() if c.labels.get(LABEL_SERVICE) == service]
        if not match:
            raise LauncherError(f"no {service} container in project {self.config.project}")
        if follow:
            yield from match[0].logs(stream=True, follow=True, tail=tail)
        else:
            yield match[0].logs(tail=tail)

    def down(self, volumes: bool = False) -> dict[str, int]:
        """Stop and remove every container, network (and volume if asked) of the project."""
        removed = {"containers": 0, "networks": 0, "volumes": 0}
        for c in reversed(self.containers()):
            if c.status in ("running", "restarting", "paused"):
                c.stop(timeout=int(self.config.grace_seconds) + 5)
            c.remove(v=True, force=True)
            removed["containers"] += 1
        selector = {"label": f"{LABEL_PROJECT}={self.config.project}"}
        for net in self.client.networks.list(filters=selector):
            net.remove()
            removed["networks"] += 1
        if volumes:
            for vol in self.client.volumes.list(filters=selector):
                vol.remove(force=True)
                removed["volumes"] += 1
        return removed


def _tail(container: Any, lines: int) -> str:
    try:
        raw: bytes = container.logs(tail=lines)
    except Exception:  # the container may be gone already; the log is a courtesy
        return "(no logs)"
    return raw.decode("utf-8", "replace").rstrip()
