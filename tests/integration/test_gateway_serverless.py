"""The serverless contract through the real gateway's `POST /v1/generate` and through the
RunPod worker under the runpod SDK's own local API server (`--rp_serve_api`, `/runsync`),
both in front of a real orchestrator and stages (embedded backends)."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trimesh

from meshpipe.launcher.local import LocalSystem, free_port
from tests.integration.scenes import coffee_jpeg, three_object_scene
from tests.support.gateway_process import running_gateway

pytestmark = pytest.mark.slow
CONTRACT_KEYS = {"model_base64", "file_size", "format", "textured", "execution_time"}


def contract_input(image: bytes, **overrides: Any) -> dict[str, Any]:
    """The contract's exact input, with its defaults spelled out."""
    return {
        "input": {
            "image": base64.b64encode(image).decode(),
            "generate_texture": True,
            "remove_background": True,
            "profile": 3,
            **overrides,
        }
    }


def assert_glb(data: bytes) -> trimesh.Scene:
    assert data[:4] == b"glTF"
    scene = trimesh.load(io.BytesIO(data), file_type="glb", force="scene")
    assert isinstance(scene, trimesh.Scene) and scene.geometry
    return scene


def assert_contract(output: dict[str, Any], objects: int, textured: bool = True) -> None:
    assert set(output) >= CONTRACT_KEYS
    model = base64.b64decode(output["model_base64"])
    assert output["file_size"] == len(model) > 0
    assert output["format"] == "glb" and output["textured"] is textured
    assert isinstance(output["execution_time"], float) and output["execution_time"] > 0
    assert_glb(model)
    assert output["job_id"] and len(output["objects"]) == objects
    for obj in output["objects"]:
        assert {"x1", "y1", "x2", "y2"} == set(obj["box"]) and obj["label"]
        assert obj["file_size"] == len(base64.b64decode(obj["model_base64"])) > 0


@pytest.fixture(scope="module")
def http(meshpipe_system: LocalSystem) -> Iterator[httpx.Client]:
    with (
        running_gateway(meshpipe_system.orchestrator_address) as gateway,
        httpx.Client(base_url=gateway.url, timeout=300) as client,
    ):
        yield client


def test_generate_one_object(http: httpx.Client) -> None:
    reply = http.post("/v1/generate", json=contract_input(coffee_jpeg()))
    assert reply.status_code == 200, reply.text
    output = reply.json()
    assert_contract(output, objects=1)
    assert output["model_base64"] == output["objects"][0]["model_base64"]


def test_generate_several_objects(http: httpx.Client) -> None:
    reply = http.post("/v1/generate", json=contract_input(three_object_scene(), prompt=""))
    output = reply.json()
    assert_contract(output, objects=3)
    model = base64.b64decode(output["model_base64"])
    if output["notices"]:  # an orchestrator without scene GLBs: object 0's, and it says so
        assert "no scene" in output["notices"][0]
        assert output["model_base64"] == output["objects"][0]["model_base64"]
    else:  # the scene of all three objects
        assert len(assert_glb(model).geometry) >= 3


def test_generate_without_texture(http: httpx.Client) -> None:
    body = contract_input(coffee_jpeg(), generate_texture=False, profile=5)
    output = http.post("/v1/generate", json=body).json()
    assert_contract(output, objects=1, textured=False)
    assert any("profile 5" in notice for notice in output["notices"])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"input": {}}, 422),
        ({"input": {"image": "***"}}, 400),
        ({"input": {"image": base64.b64encode(b"not a photo").decode()}}, 422),
        (contract_input(b"x", profile=9), 422),
        (contract_input(b"x", colour="red"), 422),
        ([1, 2], 400),
    ],
    ids=[
        "no image",
        "bad base64",
        "not an image",
        "profile out of range",
        "unknown key",
        "not an object",
    ],
)
def test_generate_bad_input_is_an_error_object(http: httpx.Client, body: Any, status: int) -> None:
    reply = http.post("/v1/generate", json=body)
    assert reply.status_code == status
    assert set(reply.json()) == {"error"} and reply.json()["error"]


def test_generate_body_not_json(http: httpx.Client) -> None:
    reply = http.post("/v1/generate", content=b"{", headers={"content-type": "application/json"})
    assert reply.status_code == 400 and "error" in reply.json()


@pytest.fixture(scope="module")
def runpod_api(meshpipe_system: LocalSystem) -> Iterator[str]:
    """The RunPod worker under the SDK's local API server, on a free port."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="meshpipe-runpod-") as tmp:
        log_path = Path(tmp) / "worker.log"
        argv = [sys.executable, "-m", "gateway.runpod_worker", "--rp_serve_api"]
        argv += ["--rp_api_port", str(port), "--rp_api_host", "127.0.0.1"]
        env = {**os.environ, "MESHPIPE_GATEWAY_ORCHESTRATOR": meshpipe_system.orchestrator_address}
        with log_path.open("wb") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_up(url, process, log_path)
            yield url
        finally:
            process.terminate()
            process.wait(30)


def _wait_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"runpod worker not up:\n{log_path.read_text(errors='replace')[-3000:]}")


def test_runpod_runsync_contract(runpod_api: str) -> None:
    reply = httpx.post(f"{runpod_api}/runsync", json=contract_input(coffee_jpeg()), timeout=300)
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "COMPLETED", body
    assert_contract(body["output"], objects=1)


@pytest.mark.parametrize(
    "payload",
    [{"input": {}}, {"input": {"image": "***"}}, contract_input(b"not a photo")],
    ids=["no image", "bad base64", "not an image"],
)
def test_runpod_invalid_input_is_an_error(runpod_api: str, payload: dict[str, Any]) -> None:
    reply = httpx.post(f"{runpod_api}/runsync", json=payload, timeout=120)
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "FAILED" and body["error"]
    assert "Traceback" not in body["error"]
    # the worker is still there for the next job
    assert httpx.get(f"{runpod_api}/openapi.json", timeout=10).status_code == 200
