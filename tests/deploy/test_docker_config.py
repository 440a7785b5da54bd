"""What the Docker launcher would create, checked without an engine."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from meshpipe.cli import deploy_cmd
from meshpipe.cli.main import build_parser
from meshpipe.launcher.docker_config import (
    LABEL_PROJECT,
    LABEL_SERVICE,
    OUTPUT_MOUNT,
    WEIGHTS_MOUNT,
    LaunchConfig,
    config_hash,
    container_spec,
)
from meshpipe.launcher.docker_services import SERVICES, STAGES, service_def


def test_only_orchestrator_grpc_and_metrics_are_published_on_loopback() -> None:
    config = LaunchConfig()
    for service in SERVICES:
        svc = service_def(service)
        ports = container_spec(config, service)["ports"]
        assert f"{svc.metrics_port}/tcp" in ports
        assert (f"{svc.grpc_port}/tcp" in ports) == (service == "orchestrator")
        assert all(host == "127.0.0.1" for host, _ in ports.values())
    assert container_spec(config, "orchestrator")["ports"]["50051/tcp"] == ("127.0.0.1", 50051)
    host_ports = [p for s in SERVICES for _, p in container_spec(config, s)["ports"].values()]
    assert len(host_ports) == len(set(host_ports)), "two services on one host port"


def test_gateway_publishes_its_http_port_and_finds_the_orchestrator() -> None:
    spec = container_spec(LaunchConfig(), "gateway")
    assert spec["ports"] == {"8080/tcp": ("127.0.0.1", 8080)}
    assert spec["environment"]["MESHPIPE_GATEWAY_ORCHESTRATOR"] == "orchestrator:50051"
    assert spec["device_requests"] == [] and spec["volumes"] == {}
    assert container_spec(LaunchConfig(http_port=0), "gateway")["ports"]["8080/tcp"][1] is None
    assert LaunchConfig().services[-1] == "gateway"
    assert "gateway" not in LaunchConfig(gateway=False).services


def test_metrics_can_be_unpublished_or_ephemeral() -> None:
    off = LaunchConfig(metrics_base_port=None, port=0)
    assert container_spec(off, "matting")["ports"] == {}
    assert container_spec(off, "orchestrator")["ports"] == {"50051/tcp": ("127.0.0.1", None)}
    anywhere = LaunchConfig(metrics_base_port=0)
    assert container_spec(anywhere, "shape")["ports"] == {"9103/tcp": ("127.0.0.1", None)}


def test_gpu_device_requests_only_where_asked() -> None:
    assert all(not container_spec(LaunchConfig(), s)["device_requests"] for s in SERVICES)
    config = LaunchConfig(gpus="0,1", gpu_services=("shape", "texture"))
    for service in SERVICES:
        requests = container_spec(config, service)["device_requests"]
        env = container_spec(config, service)["environment"]
        if service in ("shape", "texture"):
            assert requests == [{"device_ids": ["0", "1"], "capabilities": [["gpu"]]}]
            assert env["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
        elif service == "arbiter":  # reads NVML, computes nothing
            assert env["NVIDIA_DRIVER_CAPABILITIES"] == "utility"
        else:
            assert requests == []
            assert "NVIDIA_DRIVER_CAPABILITIES" not in env
    everything = LaunchConfig(gpus="all")
    assert container_spec(everything, "detector")["device_requests"][0]["count"] == -1


def test_wiring_environment() -> None:
    config = LaunchConfig(weights_dir="/srv/w", env={"shape": {"MESHPIPE_SHAPE_PARK_AFTER": "5"}})
    orch = container_spec(config, "orchestrator")["environment"]
    for stage in STAGES:
        port = service_def(stage).grpc_port
        assert orch[f"MESHPIPE_ORCHESTRATOR_{stage.upper()}__ADDRESS"] == f"{stage}:{port}"
        stage_env = container_spec(config, stage)["environment"]
        assert stage_env[f"MESHPIPE_{stage.upper()}_ARBITER_ADDRESS"] == "arbiter:50070"
        assert container_spec(config, stage)["volumes"] == {
            "/srv/w": {"bind": WEIGHTS_MOUNT, "mode": "ro"}
        }
    assert container_spec(config, "matting")["environment"]["MESHPIPE_MATTING_WEIGHTS_DIR"] == (
        WEIGHTS_MOUNT
    )
    assert container_spec(config, "shape")["environment"]["MESHPIPE_SHAPE_PARK_AFTER"] == "5"
    assert container_spec(config, "orchestrator")["volumes"] == {
        "meshpipe-out": {"bind": OUTPUT_MOUNT, "mode": "rw"}
    }
    # Private network, orchestrator published on loopback: explicitly without authentication;
    # published elsewhere, the processes refuse to start unless --env configures credentials.
    assert orch["MESHPIPE_ORCHESTRATOR_INSECURE"] == "true"
    public = LaunchConfig(publish_host="0.0.0.0")
    assert (
        "MESHPIPE_ORCHESTRATOR_INSECURE"
        not in container_spec(public, "orchestrator")["environment"]
    )
    no_arbiter = LaunchConfig(arbiter=False)
    assert "arbiter" not in no_arbiter.services
    assert (
        "MESHPIPE_SHAPE_ARBITER_ADDRESS" not in container_spec(no_arbiter, "shape")["environment"]
    )


def test_names_labels_and_network_alias() -> None:
    config = LaunchConfig(project="blue")
    spec = container_spec(config, "texture")
    assert spec["name"] == "blue-texture"
    assert spec["image"] == "meshpipe-texture:dev"
    assert spec["labels"][LABEL_PROJECT] == "blue"
    assert spec["labels"][LABEL_SERVICE] == "texture"
    assert spec["networking_config"] == {"blue-net": {"Aliases": ["texture"]}}
    assert spec["cap_drop"] == ["ALL"]


def test_config_hash_tracks_spec_and_image() -> None:
    spec = container_spec(LaunchConfig(), "matting")
    changed = container_spec(LaunchConfig(env={"matting": {"X": "1"}}), "matting")
    assert config_hash(spec, "sha256:a") == config_hash(dict(spec), "sha256:a")
    assert config_hash(spec, "sha256:a") != config_hash(spec, "sha256:b")
    assert config_hash(spec, "sha256:a") != config_hash(changed, "sha256:a")


def test_cli_flags_build_the_config(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["up", "--project", "p", "--port", "0", "--metrics-base-port", "-1", "--gpus", "all",
         "--weights-dir", str(tmp_path), "--env", "shape:A=b=c", "--no-arbiter"]
    )  # fmt: skip
    config = deploy_cmd.launch_config(args)
    assert (config.project, config.port, config.metrics_base_port) == ("p", 0, None)
    assert config.gpus == "all" and not config.arbiter
    assert config.env == {"shape": {"A": "b=c"}}
    assert config.weights_dir == str(tmp_path)


@pytest.mark.parametrize("item", ["shape", "shape:NOEQUALS", "nope:A=1", ":A=1"])
def test_bad_env_flags_are_usage_errors(item: str) -> None:
    with pytest.raises(deploy_cmd.UsageError):
        deploy_cmd.parse_env([item])


def test_missing_weights_dir_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(["up", "--weights-dir", f"{tmp_path}/absent"])
    assert isinstance(args, argparse.Namespace)
    assert args.func(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("meshpipe: weights folder") and "\n" not in err


def test_default_host_ports_equal_the_services_default_ports() -> None:
    config = LaunchConfig()
    for service in SERVICES:
        svc = service_def(service)
        published = container_spec(config, service)["ports"][f"{svc.metrics_port}/tcp"]
        assert published == ("127.0.0.1", svc.metrics_port)
    shifted = LaunchConfig(metrics_base_port=19100)
    assert container_spec(shifted, "arbiter")["ports"]["9110/tcp"] == ("127.0.0.1", 19110)
