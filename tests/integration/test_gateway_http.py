"""The HTTP gateway as a real process in front of a real orchestrator and stages (embedded
backends): REST submit -> SSE to the end -> artifacts downloaded and loaded, SSE resume,
Range/ETag downloads, the archive, paging, cancel, CORS, health and metrics."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trimesh
from PIL import Image

from meshpipe.launcher.local import LocalSystem
from tests.integration.scenes import coffee_jpeg
from tests.support.gateway_process import GatewayHandle, running_gateway, sse_events

pytestmark = pytest.mark.slow
MIB = 1024 * 1024
ORIGIN = "http://studio.example"
GATEWAY_ENV = {
    "MESHPIPE_GATEWAY_MAX_UPLOAD_BYTES": str(2 * MIB),
    "MESHPIPE_GATEWAY_CORS_ORIGINS": f'["{ORIGIN}"]',
    "MESHPIPE_GATEWAY_HEARTBEAT_SECONDS": "0.2",
}


@pytest.fixture(scope="module")
def gateway(meshpipe_system: LocalSystem) -> Iterator[GatewayHandle]:
    with running_gateway(meshpipe_system.orchestrator_address, GATEWAY_ENV) as handle:
        yield handle


@pytest.fixture(scope="module")
def http(gateway: GatewayHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=180) as client:
        yield client


def submit(http: httpx.Client, image: bytes, **fields: Any) -> dict[str, Any]:
    data = {k: str(v) for k, v in fields.items()}
    reply = http.post("/v1/jobs", files={"image": ("photo.jpg", image, "image/jpeg")}, data=data)
    assert reply.status_code == 202, reply.text
    body: dict[str, Any] = reply.json()
    assert reply.headers["location"] == f"/v1/jobs/{body['job_id']}"
    return body


def read_stream(
    http: httpx.Client,
    job_id: str,
    headers: dict[str, str] | None = None,
    params: dict[str, int] | None = None,
) -> list[dict[str, str]]:
    """Every SSE message (comments included) until the stream ends."""
    url = f"/v1/jobs/{job_id}/events"
    with http.stream("GET", url, headers=headers, params=params) as reply:
        assert reply.status_code == 200, reply.read()
        assert reply.headers["content-type"].startswith("text/event-stream")
        return list(sse_events(reply.iter_lines()))


@pytest.fixture(scope="module")
def coffee_job(http: httpx.Client) -> dict[str, Any]:
    job = submit(http, coffee_jpeg(), name="coffee.jpg")  # standard: a GLB over 1 MiB
    messages = read_stream(http, job["job_id"])
    events = [m for m in messages if "event" in m]
    return {"job_id": job["job_id"], "messages": messages, "events": events}


def test_submit_then_events_to_the_end(coffee_job: dict[str, Any]) -> None:
    events = coffee_job["events"]
    assert [int(e["id"]) for e in events] == list(range(len(events)))  # gap-free from 0
    kinds = [e["event"] for e in events]
    assert kinds[0] == "accepted" and kinds[-1] == "done"
    assert {"detections", "progress", "result"} <= set(kinds)
    assert '"JOB_STATE_SUCCEEDED"' in events[-1]["data"]


def test_heartbeat_comments_while_stages_run(coffee_job: dict[str, Any]) -> None:
    comments = [m["comment"] for m in coffee_job["messages"] if "comment" in m]
    assert "heartbeat" in comments  # stages take far longer than the 0.2 s heartbeat


def test_job_view_artifacts_download_and_load(
    http: httpx.Client, coffee_job: dict[str, Any]
) -> None:
    view = http.get(f"/v1/jobs/{coffee_job['job_id']}").json()
    assert view["state"] == "succeeded"
    (obj,) = view["objects"]
    assert {"x1", "y1", "x2", "y2"} <= set(obj["box"])
    by_kind = {a["kind"]: a for a in obj["artifacts"]}
    glb = http.get(by_kind["textured_mesh"]["url"])
    assert glb.status_code == 200
    assert glb.headers["content-type"] == "model/gltf-binary"
    assert len(glb.content) == int(by_kind["textured_mesh"]["size_bytes"])
    mesh = trimesh.load(io.BytesIO(glb.content), file_type="glb", force="mesh")
    assert isinstance(mesh, trimesh.Trimesh)
    assert len(mesh.faces) == obj["face_count"] > 0
    crop = http.get(by_kind["crop"]["url"])
    assert crop.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(crop.content)).size[0] > 0
    photo = http.get(f"/v1/jobs/{coffee_job['job_id']}/input")
    assert photo.headers["content-type"] == "image/jpeg" and photo.content == coffee_jpeg()


def test_etag_and_not_modified(http: httpx.Client, coffee_job: dict[str, Any]) -> None:
    url = f"/v1/jobs/{coffee_job['job_id']}/artifacts/textured/000_object.glb"
    first = http.get(url)
    etag = first.headers["etag"]
    assert etag and http.get(url).headers["etag"] == etag
    again = http.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_sse_resumes_after_last_event_id(http: httpx.Client, coffee_job: dict[str, Any]) -> None:
    resumed = [
        m for m in read_stream(http, coffee_job["job_id"], {"Last-Event-ID": "2"}) if "event" in m
    ]
    assert resumed == coffee_job["events"][3:]
    from_query = read_stream(http, coffee_job["job_id"], params={"from": 4})
    assert [m for m in from_query if "event" in m] == coffee_job["events"][4:]


@pytest.mark.parametrize("kind", ["closed", "suffix", "open-ended"])
def test_range_requests(http: httpx.Client, coffee_job: dict[str, Any], kind: str) -> None:
    url = f"/v1/jobs/{coffee_job['job_id']}/artifacts/textured/000_object.glb"
    whole = http.get(url).content
    total = len(whole)
    start, end, header = {
        "closed": (100, 199, "bytes=100-199"),
        "suffix": (total - 50, total - 1, "bytes=-50"),
        "open-ended": (total - 1000, total - 1, f"bytes={total - 1000}-"),
    }[kind]
    assert total > 1024 * 1024  # "open-ended" starts past the first 1 MiB chunk
    part = http.get(url, headers={"Range": header})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes {start}-{end}/{total}"
    assert int(part.headers["content-length"]) == end - start + 1
    assert part.content == whole[start : end + 1]


def test_unsatisfiable_range_is_416(http: httpx.Client, coffee_job: dict[str, Any]) -> None:
    url = f"/v1/jobs/{coffee_job['job_id']}/artifacts/textured/000_object.glb"
    reply = http.get(url, headers={"Range": "bytes=999999999-"})
    assert reply.status_code == 416
    assert reply.headers["content-range"].startswith("bytes */")
    assert reply.headers["content-type"] == "application/problem+json"


def test_archive_has_every_file(http: httpx.Client, coffee_job: dict[str, Any]) -> None:
    job_id = coffee_job["job_id"]
    reply = http.get(f"/v1/jobs/{job_id}/archive.zip")
    assert reply.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(reply.content))
    assert archive.testzip() is None
    names = set(archive.namelist())
    expected = {"input.jpg", "manifest.json", "crops/000_object.png", "mattes/000_object.png"}
    expected |= {"meshes/000_object.glb", "textured/000_object.glb"}
    assert {f"{job_id}/{name}" for name in expected} <= names
    glb = archive.read(f"{job_id}/textured/000_object.glb")
    assert glb == http.get(f"/v1/jobs/{job_id}/artifacts/textured/000_object.glb").content


def test_list_jobs_paged_and_filtered(http: httpx.Client, coffee_job: dict[str, Any]) -> None:
    page = http.get("/v1/jobs", params={"page_size": 1}).json()
    assert len(page["jobs"]) == 1
    succeeded = http.get("/v1/jobs", params={"state": "succeeded", "page_size": 100}).json()
    assert succeeded["jobs"] and all(j["state"] == "succeeded" for j in succeeded["jobs"])
    assert coffee_job["job_id"] in {j["job_id"] for j in succeeded["jobs"]}


def test_cancel(http: httpx.Client) -> None:
    job = submit(http, coffee_jpeg(), quality="draft")
    reply = http.delete(f"/v1/jobs/{job['job_id']}")
    assert reply.status_code == 200
    state = reply.json()["state"]
    assert state in ("cancelled", "succeeded")  # a job may finish before the cancel lands
    assert http.get(f"/v1/jobs/{job['job_id']}").json()["state"] == state


def test_cors_preflight(http: httpx.Client) -> None:
    headers = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    headers["Access-Control-Request-Headers"] = "idempotency-key,content-type"
    allowed = http.options("/v1/jobs", headers=headers)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    refused = http.options("/v1/jobs", headers={**headers, "Origin": "http://evil.example"})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


def test_health_ready_metrics_and_request_ids(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    assert http.get("/readyz").status_code == 200
    reply = http.get("/v1/jobs/20200101-000000-000000", headers={"X-Request-ID": "trace-42"})
    assert reply.headers["x-request-id"] == "trace-42" and reply.json()["request_id"] == "trace-42"
    assert (
        len(http.get("/healthz", headers={"X-Request-ID": "bad id!"}).headers["x-request-id"]) == 32
    )
    text = http.get("/metrics").text
    assert (
        'meshpipe_gateway_requests_total{method="GET",route="/v1/jobs/{job_id}",status="404"}'
        in text
    )
    assert "meshpipe_gateway_request_seconds_bucket" in text
    assert "meshpipe_gateway_event_streams 0.0" in text


def test_studio_page_and_api_docs(http: httpx.Client, coffee_job: dict[str, Any]) -> None:
    page = http.get(f"/jobs/{coffee_job['job_id']}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/studio.js" in page.text
    assert http.get("/static/studio.js").status_code == 200
    assert http.get("/docs").status_code == 200
    assert "/v1/jobs/{job_id}/events" in http.get("/openapi.json").json()["paths"]


def test_a_restarted_gateway_serves_the_same_jobs(
    meshpipe_system: LocalSystem, coffee_job: dict[str, Any], http: httpx.Client
) -> None:
    before = http.get(f"/v1/jobs/{coffee_job['job_id']}").json()
    with running_gateway(meshpipe_system.orchestrator_address) as other:
        after = httpx.get(f"{other.url}/v1/jobs/{coffee_job['job_id']}", timeout=60).json()
    assert after == before


def test_streams_are_counted_while_open(http: httpx.Client, coffee_job: dict[str, Any]) -> None:
    job = submit(http, coffee_jpeg(), quality="draft")
    with http.stream("GET", f"/v1/jobs/{job['job_id']}/events") as reply:
        lines = reply.iter_lines()
        next(lines)
        deadline = time.monotonic() + 10
        while "meshpipe_gateway_event_streams 1.0" not in http.get("/metrics").text:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for _ in lines:
            pass


def test_readme_example_file_is_submittable(http: httpx.Client) -> None:
    photo = Path(__file__).parents[2] / "examples" / "coffee.jpg"
    with photo.open("rb") as f:
        reply = http.post(
            "/v1/jobs", files={"image": ("coffee.jpg", f, "image/jpeg")}, data={"texture": "false"}
        )
    assert reply.status_code == 202
    http.delete(f"/v1/jobs/{reply.json()['job_id']}")


def test_idempotency_key_attaches_a_retry_to_the_first_job(http: httpx.Client) -> None:
    key = f"bench-{time.time_ns()}"
    headers = {"Idempotency-Key": key}
    files = {"image": ("photo.jpg", coffee_jpeg(), "image/jpeg")}
    first = http.post("/v1/jobs", files=files, data={"texture": "false"}, headers=headers)
    summary = http.get(f"/v1/jobs/{first.json()['job_id']}").json()["summary"]
    if summary.get("request_id") != key:
        http.delete(f"/v1/jobs/{first.json()['job_id']}")
        pytest.skip(
            "this orchestrator does not record request_id yet (SubmitJobRequest.request_id)"
        )
    again = http.post("/v1/jobs", files=files, data={"texture": "false"}, headers=headers)
    assert again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
