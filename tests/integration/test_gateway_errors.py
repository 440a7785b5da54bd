"""Every error the gateway reports, through the real gateway process: problem+json with the
right status (gRPC status mapped), never a traceback; 503 when the orchestrator is down, 429
with Retry-After when it is full."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from meshpipe.launcher.local import LocalSystem, free_port
from tests.integration.scenes import coffee_jpeg
from tests.support.gateway_process import running_gateway
from tests.support.stage_process import read_ready_file

pytestmark = pytest.mark.slow
MIB = 1024 * 1024
JOB = "/v1/jobs"


@pytest.fixture(scope="module")
def http(meshpipe_system: LocalSystem) -> Iterator[httpx.Client]:
    env = {"MESHPIPE_GATEWAY_MAX_UPLOAD_BYTES": str(1 * MIB)}
    with (
        running_gateway(meshpipe_system.orchestrator_address, env) as gateway,
        httpx.Client(base_url=gateway.url, timeout=120) as client,
    ):
        yield client


def assert_problem(reply: httpx.Response, status: int, code: str = "") -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = reply.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in reply.text and 'File "' not in reply.text
    if code:
        assert body["code"] == code
    return body


def photo_form(image: bytes, **fields: str) -> dict[str, Any]:
    return {"files": {"image": ("photo.jpg", image, "image/jpeg")}, "data": fields}


CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown job", {"method": "GET", "url": f"{JOB}/20200101-000000-abcdef"}, 404, "NOT_FOUND"),
    ("malformed job id", {"method": "GET", "url": f"{JOB}/..%2F..%2Fetc"}, 404, ""),
    (
        "cancel unknown",
        {"method": "DELETE", "url": f"{JOB}/20200101-000000-abcdef"},
        404,
        "NOT_FOUND",
    ),
    (
        "not an image",
        {"method": "POST", "url": JOB, **photo_form(b"hello, world")},
        422,
        "INVALID_ARGUMENT",
    ),
    (
        "no image field",
        {"method": "POST", "url": JOB, "data": {"prompt": "mug"}, "files": {"x": ("a", b"b")}},
        422,
        "",
    ),
    (
        "max_objects over the cap",
        {"method": "POST", "url": JOB, **photo_form(coffee_jpeg(), max_objects="9999")},
        422,
        "INVALID_ARGUMENT",
    ),
    (
        "bad quality",
        {"method": "POST", "url": JOB, **photo_form(coffee_jpeg(), quality="ultra")},
        422,
        "",
    ),
    (
        "seed not a number",
        {"method": "POST", "url": JOB, **photo_form(coffee_jpeg(), seed="abc")},
        422,
        "",
    ),
    (
        "unknown field",
        {"method": "POST", "url": JOB, "json": {"image_base64": "aGk=", "colour": "red"}},
        422,
        "",
    ),
    ("bad base64", {"method": "POST", "url": JOB, "json": {"image_base64": "***"}}, 400, ""),
    ("missing image_base64", {"method": "POST", "url": JOB, "json": {"prompt": "mug"}}, 422, ""),
    (
        "JSON not an object",
        {
            "method": "POST",
            "url": JOB,
            "content": b"[1, 2",
            "headers": {"content-type": "application/json"},
        },
        422,
        "",
    ),
    (
        "wrong content type",
        {"method": "POST", "url": JOB, "content": b"x", "headers": {"content-type": "text/plain"}},
        415,
        "",
    ),
    (
        "broken multipart",
        {
            "method": "POST",
            "url": JOB,
            "content": b"--x\r\nnope",
            "headers": {"content-type": "multipart/form-data; boundary=x"},
        },
        422,
        "",
    ),
    ("oversize upload", {"method": "POST", "url": JOB, **photo_form(b"\xff" * (2 * MIB))}, 413, ""),
    (
        "oversize base64",
        {
            "method": "POST",
            "url": JOB,
            "json": {"image_base64": base64.b64encode(b"\0" * (MIB + 10)).decode()},
        },
        413,
        "",
    ),
    ("bad state filter", {"method": "GET", "url": JOB, "params": {"state": "sleeping"}}, 422, ""),
    (
        "bad Last-Event-ID",
        {
            "method": "GET",
            "url": f"{JOB}/20200101-000000-abcdef/events",
            "headers": {"Last-Event-ID": "x"},
        },
        400,
        "",
    ),
    ("unknown route", {"method": "GET", "url": "/v1/nothing"}, 404, ""),
    ("wrong method", {"method": "PUT", "url": JOB}, 405, ""),
]


@pytest.mark.parametrize(
    ("name", "request_args", "status", "code"), CASES, ids=[c[0] for c in CASES]
)
def test_error_is_problem_json(
    http: httpx.Client, name: str, request_args: dict[str, Any], status: int, code: str
) -> None:
    assert_problem(http.request(**request_args), status, code)


def test_unknown_artifact_and_traversal_are_404(http: httpx.Client) -> None:
    job = http.post(JOB, **photo_form(coffee_jpeg(), texture="false")).json()["job_id"]
    assert_problem(http.get(f"{JOB}/{job}/artifacts/nothing.glb"), 404)
    assert_problem(http.get(f"{JOB}/{job}/artifacts/..%2F..%2Fjobs.sqlite3"), 404)
    http.delete(f"{JOB}/{job}")


def test_orchestrator_down_is_503_with_retry_after() -> None:
    with (
        running_gateway(f"127.0.0.1:{free_port()}") as gateway,
        httpx.Client(base_url=gateway.url, timeout=60) as http,
    ):
        assert http.get("/healthz").status_code == 200
        ready = http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        for reply in (http.get(JOB), http.post(JOB, **photo_form(coffee_jpeg()))):
            assert_problem(reply, 503, "UNAVAILABLE")
            assert int(reply.headers["retry-after"]) > 0


@pytest.fixture
def full_orchestrator(meshpipe_system: LocalSystem) -> Iterator[str]:
    """A second orchestrator on the same stages that takes one unfinished job at a time."""
    with tempfile.TemporaryDirectory(prefix="meshpipe-orch-") as tmp:
        ready, log = Path(tmp) / "ready.json", Path(tmp) / "orchestrator.log"
        argv = [sys.executable, "-m", "meshpipe.cli.main", "orchestrator", "--port", "0"]
        argv += ["--metrics-port", "-1", "--out", tmp, "--ready-file", str(ready)]
        for stage in ("detector", "matting", "shape", "texture"):
            argv += [f"--{stage}", meshpipe_system.addresses[stage]]
        env = {
            "MESHPIPE_ORCHESTRATOR_MAX_QUEUED_JOBS": "1",
            "MESHPIPE_ORCHESTRATOR_ARBITER_ENABLED": "false",
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}
            )
        try:
            info = read_ready_file(process, ready, log, "orchestrator", 60)
            yield f"127.0.0.1:{info['grpc_port']}"
        finally:
            process.terminate()
            process.wait(30)


def test_full_orchestrator_is_429_with_retry_after(full_orchestrator: str) -> None:
    with (
        running_gateway(full_orchestrator) as gateway,
        httpx.Client(base_url=gateway.url, timeout=60) as http,
    ):
        first = http.post(JOB, **photo_form(coffee_jpeg()))
        assert first.status_code == 202
        second = http.post(JOB, **photo_form(coffee_jpeg()))
        assert_problem(second, 429, "RESOURCE_EXHAUSTED")
        assert int(second.headers["retry-after"]) > 0
        http.delete(f"{JOB}/{first.json()['job_id']}")
