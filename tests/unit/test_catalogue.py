"""The stage catalogue agrees with everything that reads it or that it names: the stages'
specs and settings, the proto, the orchestrator, the backend tables and the package extras."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from meshpipe import catalogue
from meshpipe.catalogue import STAGE_ENTRIES, STAGES, StageEntry
from meshpipe.launcher.docker_services import SERVICES, service_def
from meshpipe.runtime.registry import load_spec
from meshpipe.v1 import stage_pb2
from orchestrator.domain import Stage
from orchestrator.settings import OrchestratorSettings
from orchestrator.stages import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
BY_NAME = {e.name: e for e in STAGE_ENTRIES}


@pytest.mark.parametrize("entry", STAGE_ENTRIES, ids=STAGES)
def test_each_stage_spec_serves_the_catalogued_grpc_service(entry: StageEntry) -> None:
    spec = load_spec(entry.name)
    assert spec.name == entry.name
    assert spec.service_name == entry.full_grpc_service
    assert stage_pb2.DESCRIPTOR.services_by_name[entry.grpc_service].full_name == (
        entry.full_grpc_service
    )


@pytest.mark.parametrize("service", SERVICES)
def test_settings_classes_take_ports_and_prefix_from_the_catalogue(service: str) -> None:
    entry = catalogue.entry(service)
    svc = service_def(service)
    assert (svc.grpc_port, svc.metrics_port) == (entry.grpc_port, entry.metrics_port)
    assert svc.env_prefix == entry.env_prefix
    assert svc.is_stage == (service in STAGES)


def test_ports_are_unique() -> None:
    entries = [catalogue.entry(s) for s in SERVICES]
    ports = [p for e in entries for p in (e.grpc_port, e.metrics_port)]
    assert len(ports) == len(set(ports))


def test_the_orchestrator_knows_every_stage_in_catalogue_order() -> None:
    assert [s.value for s in Stage] == list(STAGES)
    settings = OrchestratorSettings()
    for stage in Stage:
        port = BY_NAME[stage.value].grpc_port
        assert settings.endpoint(stage.value).address == f"127.0.0.1:{port}"
        assert SERVICE_NAMES[stage] == BY_NAME[stage.value].grpc_service


def _backend_table(stage: str) -> dict[str, str]:
    module = importlib.import_module(f"services.{stage}.backends")
    table: dict[str, str] = getattr(module, "BACKENDS", None) or module._BACKENDS
    return table


@pytest.mark.parametrize("entry", STAGE_ENTRIES, ids=STAGES)
def test_production_backend_is_in_the_stage_table_beside_its_weights(entry: StageEntry) -> None:
    table = _backend_table(entry.name)
    assert "embedded" in table
    backend_module = table[entry.production_backend].split(":")[0]
    assert entry.production_weights.split(":")[0] == backend_module


def test_every_image_installs_an_extra_the_package_declares() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    images = catalogue.image_extras()
    assert list(images) == [*SERVICES, "gateway", "runpod"]
    assert set(images.values()) <= set(extras)
    assert set(STAGES) <= set(extras["all"][0].split("[")[1].rstrip("]").split(","))


def test_start_order_puts_the_arbiter_first_and_the_orchestrator_last() -> None:
    assert ("arbiter", *STAGES, "orchestrator") == SERVICES
    groups = [[e.name for e in group] for group in catalogue.start_groups()]
    assert groups == [["arbiter"], list(STAGES), ["orchestrator"]]


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown stage 'paint'; expected one of detector"):
        catalogue.stage("paint")
    with pytest.raises(ValueError, match="unknown service 'x'; expected one of arbiter"):
        catalogue.entry("x")


def test_the_image_build_reads_its_targets_and_extras_from_the_catalogue() -> None:
    script = ROOT / "deploy" / "docker" / "wheelhouse.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, str(script), "--list-images"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    listed = dict(line.split() for line in out.splitlines())
    assert listed == catalogue.image_extras()
    assert listed["arbiter"] == "orchestrator"  # the arbiter ships in the orchestrator's extra
