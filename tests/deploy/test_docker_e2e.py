"""End-to-end checks of a deployment started by `meshpipe up` (scripts/ci_docker.sh).

Skipped unless MESHPIPE_E2E_PROJECT names a running deployment on the local engine. Jobs go
to the orchestrator's published host port; /metrics is scraped from every container's
published port; a stage container's process is SIGKILLed from the host mid-job (a crash:
Docker restarts it, `docker kill` would count as a manual stop) and the job must still
complete.
"""

from __future__ import annotations

import base64
import os
import signal
import struct
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.launcher.docker_config import LaunchConfig
from meshpipe.launcher.docker_launcher import DockerLauncher, ServiceStatus, connect
from meshpipe.launcher.docker_services import ALL_SERVICES, service_def
from meshpipe.v1 import orchestrator_pb2

PROJECT = os.environ.get("MESHPIPE_E2E_PROJECT", "")
PHOTO = Path(__file__).resolve().parents[2] / "examples" / "coffee.jpg"
JOB_TIMEOUT_S = 600.0
pytestmark = pytest.mark.skipif(not PROJECT, reason="needs `meshpipe up` (scripts/ci_docker.sh)")


@pytest.fixture(scope="module")
def launcher() -> DockerLauncher:
    return DockerLauncher(connect(), LaunchConfig(project=PROJECT))


@pytest.fixture(scope="module")
def client(launcher: DockerLauncher) -> Iterator[MeshpipeClient]:
    row = next(r for r in launcher.ps() if r.service == "orchestrator")
    address = row.host_address(service_def("orchestrator").grpc_port)
    assert address and address.startswith("127.0.0.1:"), row.ports
    with MeshpipeClient(address, timeout=60.0) as c:
        c.wait_ready(30.0)
        yield c


def run_job(client: MeshpipeClient, on_event: Callable[[Any], None] | None = None) -> Any:
    """Submit the example photo and follow it to its end; the GetJob answer."""
    done = client.submit(
        PHOTO.read_bytes(), options=job_options(seed=7), name="ci-docker", on_event=on_event
    )
    assert done.WhichOneof("event") == "done", done
    return client.get(done.job_id)


def check_glb(data: bytes) -> dict[str, Any]:
    """A binary glTF 2.0 with a mesh and an embedded texture image; returns its JSON."""
    import json

    magic, version, length = struct.unpack_from("<4sII", data, 0)
    assert (magic, version, length) == (b"glTF", 2, len(data))
    chunk_len, chunk_type = struct.unpack_from("<I4s", data, 12)
    assert chunk_type == b"JSON"
    gltf: dict[str, Any] = json.loads(data[20 : 20 + chunk_len])
    assert gltf["meshes"] and gltf["accessors"]
    assert gltf.get("images") and gltf.get("textures"), "a real texture image is embedded"
    return gltf


def metrics(row: ServiceStatus) -> dict[str, float]:
    """Samples of a container's /metrics through its published port, by 'name{labels}'."""
    address = row.host_address(service_def(row.service).metrics_port)
    assert address, f"{row.service} publishes no metrics port: {row.ports}"
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}"] = s.value
    return samples


def test_every_service_is_running_and_healthy(launcher: DockerLauncher) -> None:
    rows = {r.service: r for r in launcher.ps()}
    assert set(rows) == set(ALL_SERVICES)
    for row in rows.values():
        assert (row.state, row.health) in {("running", "healthy"), ("running", "starting")}, row
        assert all(a.startswith("127.0.0.1:") for a in row.ports.values()), row.ports


def test_job_produces_textured_glbs(client: MeshpipeClient, tmp_path: Path) -> None:
    job = run_job(client)
    assert job.summary.state == orchestrator_pb2.JOB_STATE_SUCCEEDED, job.summary
    assert job.results and len(job.results) == job.summary.objects_succeeded
    for result in job.results:
        glbs = [a for a in result.artifacts if a.media_type == "model/gltf-binary"]
        assert glbs, [a.kind for a in result.artifacts]
        path = tmp_path / f"{result.object_index}.glb"
        assert client.download(glbs[-1].artifact_id, path) == glbs[-1].size_bytes
        gltf = check_glb(path.read_bytes())
        assert result.face_count > 0 and len(gltf["meshes"]) >= 1
        assert all(run.backend.backend for run in result.stages), "backends are recorded"


def test_metrics_are_scraped_from_every_container(launcher: DockerLauncher) -> None:
    rows = {r.service: r for r in launcher.ps()}
    for stage in ("detector", "matting", "shape", "texture"):
        samples = metrics(rows[stage])
        ok = "meshpipe_stage_requests_total{code=OK,method="
        assert any(k.startswith(ok) and v >= 1 for k, v in samples.items()), stage
    orchestrator = metrics(rows["orchestrator"])
    assert orchestrator["meshpipe_orchestrator_jobs_total{outcome=succeeded}"] >= 1
    arbiter = metrics(rows["arbiter"])
    assert any(k.startswith("meshpipe_arbiter_budget_bytes") for k in arbiter)


def test_a_stage_crash_mid_job_does_not_fail_the_job(
    launcher: DockerLauncher, client: MeshpipeClient
) -> None:
    victim = next(c for c in launcher.containers() if c.name.endswith("-texture"))
    victim.reload()
    restarts_before = victim.attrs["RestartCount"]
    orchestrator = next(r for r in launcher.ps() if r.service == "orchestrator")
    retries = "meshpipe_orchestrator_stage_retries_total{stage=texture}"
    retries_before = metrics(orchestrator).get(retries, 0.0)
    killed = threading.Event()

    def kill_when_texture_starts(event: Any) -> None:
        progress = event.progress if event.WhichOneof("event") == "progress" else None
        if progress is None or progress.stage != orchestrator_pb2.STAGE_TEXTURE:
            return
        if not progress.finished and not killed.is_set():
            victim.reload()
            os.kill(victim.attrs["State"]["Pid"], signal.SIGKILL)
            killed.set()

    job = run_job(client, kill_when_texture_starts)
    assert killed.is_set(), "the job never reached the texture stage"
    assert job.summary.state == orchestrator_pb2.JOB_STATE_SUCCEEDED, (job.summary, job.errors)
    deadline = time.monotonic() + 60
    while victim.attrs["RestartCount"] <= restarts_before and time.monotonic() < deadline:
        time.sleep(1)
        victim.reload()
    assert victim.attrs["RestartCount"] == restarts_before + 1
    # The call in flight died with the process and was retried once the stage was back.
    assert metrics(orchestrator).get(retries, 0.0) >= retries_before + 1


def test_gateway_container_serves_the_studio_and_a_job_over_http(launcher: DockerLauncher) -> None:
    import httpx

    row = next(r for r in launcher.ps() if r.service == "gateway")
    address = row.host_address(service_def("gateway").grpc_port)
    assert address and address.startswith("127.0.0.1:"), row.ports
    base = f"http://{address}"
    assert httpx.get(f"{base}/readyz", timeout=30).json()["status"] == "ready"
    page = httpx.get(f"{base}/", timeout=30)
    assert "/static/studio.js" in page.text
    viewer = httpx.get(f"{base}/vendor/model-viewer/model-viewer.min.js", timeout=30)
    assert viewer.status_code == 200, "model-viewer is shipped in the image"
    body = {"input": {"image": base64.b64encode(PHOTO.read_bytes()).decode()}}
    output = httpx.post(f"{base}/v1/generate", json=body, timeout=JOB_TIMEOUT_S).json()
    check_glb(base64.b64decode(output["model_base64"]))
    assert output["format"] == "glb" and output["textured"] is True
