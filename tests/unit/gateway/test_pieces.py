"""Unit tests of the gateway's small pieces: Range parsing, the gRPC -> HTTP table, options
translation, base64 limits, forwarded metadata, SSE formatting, RunPod progress lines."""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

import grpc
import pytest

from gateway.artifacts import manifest_artifact_ids, media_type, parse_range
from gateway.convert import to_json
from gateway.deps import call_metadata
from gateway.options import JobFields, decode_base64, job_options
from gateway.problems import ApiProblem, from_rpc_error
from gateway.routes_events import format_event
from gateway.runpod_worker import progress_message
from meshpipe.v1 import orchestrator_pb2 as pb


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=-5", (95, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=90-1000", (90, 99)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
        ("bytes=x-y", None),
    ],
)
def test_parse_range(header: str, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=50-10", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(ValueError):
        parse_range(header, 100)


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.mark.parametrize(
    ("code", "status", "retry"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 422, False),
        (grpc.StatusCode.NOT_FOUND, 404, False),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429, True),
        (grpc.StatusCode.UNAVAILABLE, 503, True),
        (grpc.StatusCode.UNAUTHENTICATED, 401, False),
        (grpc.StatusCode.PERMISSION_DENIED, 403, False),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504, False),
        (grpc.StatusCode.INTERNAL, 502, False),
    ],
)
def test_grpc_status_to_http(code: grpc.StatusCode, status: int, retry: bool) -> None:
    problem = from_rpc_error(FakeRpcError(code, "why"), retry_after=7)
    assert (problem.status, problem.detail, problem.code) == (status, "why", code.name)
    assert problem.headers == ({"Retry-After": "7"} if retry else {})


def test_every_option_reaches_job_options() -> None:
    fields = JobFields(
        texture=False,
        remove_background=False,
        seed=5,
        max_objects=3,
        quality="high",
        steps=7,
        octree_resolution=64,
        guidance_scale=2.5,
        texture_size=512,
        min_area_fraction=0.01,
        nms_iou=0.4,
        crop_padding=0.2,
        formats=["obj, STL", "ply"],
        target_faces=5000,
        time_limit_seconds=30,
    )
    o = job_options(fields)
    assert (o.texture, o.remove_background, o.seed, o.max_objects, o.quality) == (
        False,
        False,
        5,
        3,
        "high",
    )
    assert (o.shape.steps, o.shape.octree_resolution, o.shape.guidance_scale) == (7, 64, 2.5)
    assert o.texture_options.texture_size == 512
    assert o.detector.nms_iou == pytest.approx(0.4) and o.detector.crop_padding == pytest.approx(
        0.2
    )
    assert list(o.formats) == ["obj", "stl", "ply"]
    assert (o.target_faces, o.time_limit_seconds) == (5000, 30)
    assert not job_options(JobFields()).HasField("seed")  # unset = random


def test_decode_base64_limits() -> None:
    data = b"\x89PNG" * 10
    assert decode_base64(base64.b64encode(data).decode(), 100) == data
    assert decode_base64("data:image/png;base64," + base64.b64encode(data).decode(), 100) == data
    with pytest.raises(ApiProblem) as over:
        decode_base64(base64.b64encode(b"x" * 200).decode(), 100)
    assert over.value.status == 413
    with pytest.raises(ApiProblem) as bad:
        decode_base64("not base64!", 100)
    assert bad.value.status == 400


def test_metadata_forwards_authorization_and_request_id() -> None:
    request: Any = SimpleNamespace(
        state=SimpleNamespace(request_id="r-1"), headers={"authorization": "Bearer t0k"}
    )
    assert call_metadata(request) == [("x-request-id", "r-1"), ("authorization", "Bearer t0k")]
    request.headers = {}
    assert call_metadata(request) == [("x-request-id", "r-1")]


def test_sse_message_and_artifact_urls() -> None:
    artifact = pb.Artifact(
        artifact_id="J:textured/000_mug.glb",
        relative_path="textured/000_mug.glb",
        kind="textured_mesh",
    )
    event = pb.JobEvent(job_id="J", sequence=8, result=pb.ObjectResult(artifacts=[artifact]))
    text = format_event(event)
    assert text.startswith("id: 8\nevent: result\ndata: {") and text.endswith("}\n\n")
    assert (
        to_json(event)["result"]["artifacts"][0]["url"]
        == "/v1/jobs/J/artifacts/textured/000_mug.glb"
    )
    failed = pb.JobEvent(job_id="J", sequence=9, error=pb.ObjectError(code="INTERNAL"))
    assert "\nevent: object_error\n" in format_event(failed)  # not EventSource's own `error`


def test_media_types_and_manifest_ids() -> None:
    assert media_type("a/b.glb") == "model/gltf-binary"
    assert media_type("a/b.stl") == "model/stl"
    assert media_type("x.bin", "application/x-recorded") == "application/x-recorded"
    manifest = b'{"input": {"artifact": {"artifact_id": "J:input.jpg"}}, "objects": [{"a": [{"artifact_id": "J:x.glb"}]}]}'
    assert manifest_artifact_ids(manifest) == ["J:input.jpg", "J:x.glb"]
    assert manifest_artifact_ids(b"not json") == []


def test_runpod_progress_lines() -> None:
    finished = pb.JobEvent(
        progress=pb.ObjectProgress(
            object_index=1, stage=pb.STAGE_SHAPE, finished=True, seconds=1.25
        )
    )
    assert progress_message(finished) == "object 1: shape done in 1.2s"
    assert progress_message(pb.JobEvent(progress=pb.ObjectProgress(stage=pb.STAGE_SHAPE))) is None
    assert progress_message(pb.JobEvent(heartbeat=pb.Heartbeat())) is None
