"""An in-memory stand-in for the parts of the Docker SDK the launcher uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from docker.errors import ImageNotFound, NotFound

_ids = itertools.count(1)


@dataclass
class FakeImage:
    id: str


@dataclass
class FakeNetwork:
    name: str
    attrs: dict[str, Any]
    engine: FakeEngine

    def remove(self) -> None:
        self.engine.networks_by_name.pop(self.name)


@dataclass
class FakeVolume:
    name: str
    labels: dict[str, str]
    engine: FakeEngine

    def remove(self, force: bool = False) -> None:
        self.engine.volumes_by_name.pop(self.name)


@dataclass
class FakeContainer:
    """A container whose state the test controls (status, health, exit code, logs)."""

    name: str
    labels: dict[str, str]
    kwargs: dict[str, Any]
    engine: FakeEngine
    status: str = "running"
    health: str = "starting"
    probe_exit: int = 0
    exit_code: int = 0
    log: bytes = b"started\n"
    id: str = field(default_factory=lambda: f"c{next(_ids)}")

    @property
    def attrs(self) -> dict[str, Any]:
        ports = {
            port: [{"HostIp": host, "HostPort": str(hp or self.engine.ephemeral_port)}]
            for port, (host, hp) in self.kwargs.get("ports", {}).items()
        }
        return {
            "State": {"Status": self.status, "ExitCode": self.exit_code,
                      "Health": {"Status": self.health}},
            "RestartCount": 0,
            "NetworkSettings": {"Ports": ports},
        }  # fmt: skip

    def reload(self) -> None:
        return None

    def exec_run(self, cmd: list[str]) -> tuple[int, bytes]:
        self.engine.execs.append((self.name, cmd))
        return self.probe_exit, b""

    def logs(self, tail: int = 100, **_: Any) -> bytes:
        return self.log

    def stop(self, timeout: int = 10) -> None:
        self.engine.stopped.append(self.name)
        self.status = "exited"

    def remove(self, v: bool = False, force: bool = False) -> None:
        self.engine.containers_by_name.pop(self.name)


class _Images:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, ref: str) -> FakeImage:
        if ref not in self.engine.image_ids:
            raise ImageNotFound(f"No such image: {ref}")
        return FakeImage(self.engine.image_ids[ref])


class _Networks:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def list(self, names: list[str] | None = None, filters: dict[str, str] | None = None) -> list[FakeNetwork]:  # fmt: skip
        nets = list(self.engine.networks_by_name.values())
        if names:
            nets = [n for n in nets if n.name in names]
        if filters:
            nets = [n for n in nets if _matches(n.attrs["Labels"], filters)]
        return nets

    def create(self, name: str, driver: str, labels: dict[str, str]) -> FakeNetwork:
        net = FakeNetwork(name, {"Labels": dict(labels)}, self.engine)
        self.engine.networks_by_name[name] = net
        return net


class _Volumes:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, name: str) -> FakeVolume:
        if name not in self.engine.volumes_by_name:
            raise NotFound(f"no volume {name}")
        return self.engine.volumes_by_name[name]

    def create(self, name: str, labels: dict[str, str]) -> FakeVolume:
        vol = FakeVolume(name, dict(labels), self.engine)
        self.engine.volumes_by_name[name] = vol
        return vol

    def list(self, filters: dict[str, str]) -> list[FakeVolume]:
        return [v for v in self.engine.volumes_by_name.values() if _matches(v.labels, filters)]


class _Containers:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, name: str) -> FakeContainer:
        if name not in self.engine.containers_by_name:
            raise NotFound(f"no container {name}")
        return self.engine.containers_by_name[name]

    def list(self, all: bool = False, filters: dict[str, str] | None = None) -> list[FakeContainer]:
        found = list(self.engine.containers_by_name.values())
        return [c for c in found if _matches(c.labels, filters or {})]

    def run(self, detach: bool, **kwargs: Any) -> FakeContainer:
        assert detach
        assert kwargs["network"] in self.engine.networks_by_name, "network must exist first"
        c = FakeContainer(kwargs["name"], dict(kwargs["labels"]), kwargs, self.engine)
        c.health = self.engine.health_on_start
        self.engine.containers_by_name[c.name] = c
        self.engine.started.append(c.name)
        return c


def _matches(labels: dict[str, str], filters: dict[str, str]) -> bool:
    wanted = filters.get("label")
    if not wanted:
        return True
    key, _, value = wanted.partition("=")
    return labels.get(key) == value


class FakeEngine:
    """The client object: .images, .networks, .volumes, .containers, plus what happened."""

    def __init__(self, images: dict[str, str], ephemeral_port: int = 1) -> None:
        self.image_ids = images  # ref -> image id
        self.ephemeral_port = ephemeral_port
        self.health_on_start = "starting"
        self.networks_by_name: dict[str, FakeNetwork] = {}
        self.volumes_by_name: dict[str, FakeVolume] = {}
        self.containers_by_name: dict[str, FakeContainer] = {}
        self.started: list[str] = []
        self.stopped: list[str] = []
        self.execs: list[tuple[str, list[str]]] = []
        self.images = _Images(self)
        self.networks = _Networks(self)
        self.volumes = _Volumes(self)
        self.containers = _Containers(self)
