"""DockerLauncher against an in-memory engine: ordering, idempotency, teardown, errors.

The orchestrator's published port points at a real grpc.health.v1 server on 127.0.0.1, so
the launcher's final host-side probe is exercised for real.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from meshpipe.launcher.docker_config import LABEL_CONFIG, LaunchConfig
from meshpipe.launcher.docker_launcher import DockerLauncher, LauncherError, connect
from meshpipe.launcher.docker_services import SERVICES
from tests.deploy.fake_docker import FakeContainer, FakeEngine


@pytest.fixture
def health_port() -> Iterator[int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(0)


def engine_for(config: LaunchConfig, health_port: int) -> FakeEngine:
    images = {config.image(s): f"sha256:{s}" for s in config.services}
    return FakeEngine(images, ephemeral_port=health_port)


def launcher(config: LaunchConfig, engine: FakeEngine) -> DockerLauncher:
    return DockerLauncher(engine, config)


def test_up_starts_everything_in_order_and_probes_the_published_orchestrator(
    health_port: int,
) -> None:
    config = LaunchConfig(port=0)  # ephemeral: the fake maps it to the health server
    engine = engine_for(config, health_port)
    rows = launcher(config, engine).up(timeout=10)
    assert engine.started == [f"meshpipe-{s}" for s in (*SERVICES, "gateway")]
    assert [r.service for r in rows] == [*SERVICES, "gateway"]
    assert all(r.state == "running" for r in rows)
    assert set(engine.networks_by_name) == {"meshpipe-net"}
    assert set(engine.volumes_by_name) == {"meshpipe-out"}
    probed = {name for name, cmd in engine.execs}
    assert probed == {f"meshpipe-{s}" for s in config.services}, "every container is probed"
    orchestrator = next(r for r in rows if r.service == "orchestrator")
    assert orchestrator.host_address(50051) == f"127.0.0.1:{health_port}"


def test_second_up_changes_nothing_and_a_changed_service_is_replaced(health_port: int) -> None:
    config = LaunchConfig(port=0)
    engine = engine_for(config, health_port)
    launcher(config, engine).up(timeout=10)
    first_ids = {n: c.id for n, c in engine.containers_by_name.items()}
    launcher(config, engine).up(timeout=10)
    assert {n: c.id for n, c in engine.containers_by_name.items()} == first_ids
    assert len(engine.started) == len(config.services)

    changed = LaunchConfig(port=0, env={"shape": {"MESHPIPE_SHAPE_PARK_AFTER": "1"}})
    launcher(changed, engine).up(timeout=10)
    replaced = {n for n, c in engine.containers_by_name.items() if first_ids[n] != c.id}
    assert replaced == {"meshpipe-shape"}


def test_rebuilt_image_or_dead_container_is_replaced(health_port: int) -> None:
    config = LaunchConfig(port=0)
    engine = engine_for(config, health_port)
    launcher(config, engine).up(timeout=10)
    old = dict(engine.containers_by_name)
    engine.image_ids[config.image("matting")] = "sha256:rebuilt"
    old["meshpipe-detector"].status = "exited"
    launcher(config, engine).up(timeout=10)
    renewed = {n for n, c in engine.containers_by_name.items() if c is not old[n]}
    assert renewed == {"meshpipe-matting", "meshpipe-detector"}
    hashes = {c.labels[LABEL_CONFIG] for c in engine.containers_by_name.values()}
    assert len(hashes) == len(config.services)


def test_down_removes_everything_labelled_even_after_a_crash(health_port: int) -> None:
    config = LaunchConfig(port=0)
    engine = engine_for(config, health_port)
    launcher(config, engine).up(timeout=10)
    engine.containers_by_name["meshpipe-texture"].status = "exited"  # crashed meanwhile
    other = LaunchConfig(project="other", port=0)
    engine.image_ids.update({other.image(s): "sha256:x" for s in other.services})
    launcher(other, engine).up(timeout=10)

    removed = DockerLauncher(engine, LaunchConfig()).down()
    assert removed == {"containers": len(config.services), "networks": 1, "volumes": 0}
    assert engine.stopped[:2] == ["meshpipe-gateway", "meshpipe-orchestrator"], "fronts first"
    assert "meshpipe-texture" not in engine.stopped, "an exited container is only removed"
    assert all(n.startswith("other-") for n in engine.containers_by_name)
    assert set(engine.networks_by_name) == {"other-net"}
    assert DockerLauncher(engine, LaunchConfig()).down(volumes=True)["volumes"] == 1
    assert DockerLauncher(engine, LaunchConfig()).down() == {
        "containers": 0,
        "networks": 0,
        "volumes": 0,
    }


def test_missing_images_are_named_in_one_error(health_port: int) -> None:
    config = LaunchConfig(port=0)
    engine = engine_for(config, health_port)
    del engine.image_ids["meshpipe-shape:dev"], engine.image_ids["meshpipe-arbiter:dev"]
    with pytest.raises(LauncherError, match=r"meshpipe-arbiter:dev, meshpipe-shape:dev.*build"):
        launcher(config, engine).up(timeout=10)
    assert engine.started == [], "nothing starts when an image is missing"


def test_a_foreign_container_with_our_name_is_not_touched(health_port: int) -> None:
    config = LaunchConfig(port=0)
    engine = engine_for(config, health_port)
    engine.networks.create("meshpipe-net", "bridge", config.labels())
    foreign = FakeContainer("meshpipe-arbiter", {}, {}, engine)
    engine.containers_by_name[foreign.name] = foreign
    with pytest.raises(LauncherError, match="not made by meshpipe"):
        launcher(config, engine).up(timeout=10)
    assert engine.containers_by_name["meshpipe-arbiter"] is foreign


def test_a_stage_that_dies_on_start_is_reported_with_its_log(health_port: int) -> None:
    config = LaunchConfig(port=0, arbiter=False)
    engine = engine_for(config, health_port)
    original_run = engine.containers.run

    def run_and_crash_matting(detach: bool, **kwargs: object) -> FakeContainer:
        container = original_run(detach, **kwargs)
        if container.name == "meshpipe-matting":
            container.status, container.exit_code = "exited", 3
            container.log = b"FailedPrecondition: matting weights missing\n"
        return container

    engine.containers.run = run_and_crash_matting  # type: ignore[method-assign]
    with pytest.raises(LauncherError, match=r"(?s)meshpipe-matting stopped \(exit 3\).*weights"):
        launcher(config, engine).up(timeout=10)


def test_unhealthy_container_times_out(health_port: int) -> None:
    config = LaunchConfig(port=0, arbiter=False)
    engine = engine_for(config, health_port)
    original_run = engine.containers.run

    def run_never_healthy(detach: bool, **kwargs: object) -> FakeContainer:
        container = original_run(detach, **kwargs)
        container.probe_exit = 1
        return container

    engine.containers.run = run_never_healthy  # type: ignore[method-assign]
    with pytest.raises(LauncherError, match="not healthy in time"):
        launcher(config, engine).up(timeout=1.5)


def test_a_foreign_network_with_our_name_is_refused(health_port: int) -> None:
    config = LaunchConfig(port=0)
    engine = engine_for(config, health_port)
    engine.networks.create("meshpipe-net", "bridge", {})
    with pytest.raises(LauncherError, match="network meshpipe-net exists but was not created"):
        launcher(config, engine).up(timeout=10)
    assert engine.started == []


def test_unreachable_engine_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(LauncherError) as err:
        connect(timeout=2)
    message = str(err.value)
    assert message.startswith(f"Docker engine not reachable at unix://{tmp_path}/no-such.sock")
    assert "start dockerd or set DOCKER_HOST" in message and "\n" not in message


def test_up_without_the_arbiter_removes_the_old_arbiter(health_port: int) -> None:
    config = LaunchConfig(port=0)
    engine = engine_for(config, health_port)
    launcher(config, engine).up(timeout=10)
    kept = {n: c.id for n, c in engine.containers_by_name.items() if n != "meshpipe-arbiter"}
    launcher(LaunchConfig(port=0, arbiter=False), engine).up(timeout=10)
    assert "meshpipe-arbiter" not in engine.containers_by_name
    changed = {n for n, c in engine.containers_by_name.items() if kept[n] != c.id}
    # Every service that named the arbiter is recreated: the stages drop its address and the
    # orchestrator switches from the arbiter container to no arbiter at all.
    assert changed == {
        "meshpipe-detector",
        "meshpipe-matting",
        "meshpipe-shape",
        "meshpipe-texture",
        "meshpipe-orchestrator",
    }
