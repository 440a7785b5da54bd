"""The gateway app against a fake orchestrator (an in-process gRPC server): what metadata
each call carries, and how the orchestrator's auth errors reach an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from meshpipe.v1 import orchestrator_pb2 as pb
from meshpipe.v1 import orchestrator_pb2_grpc


class FakeOrchestrator(orchestrator_pb2_grpc.OrchestratorServicer):
    """Records the metadata of every call; refuses callers without a bearer token."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    def GetJob(self, request: pb.GetJobRequest, context: Any) -> pb.GetJobResponse:
        metadata = dict(context.invocation_metadata())
        self.seen.append(metadata)
        if not metadata.get("authorization", "").startswith("Bearer "):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "a bearer token is required")
        if metadata["authorization"] != "Bearer alice":
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "not your job")
        summary = pb.JobSummary(job_id=request.job_id, state=pb.JOB_STATE_SUCCEEDED)
        return pb.GetJobResponse(summary=summary)


@pytest.fixture
def fake() -> Iterator[tuple[FakeOrchestrator, str]]:
    servicer = FakeOrchestrator()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    orchestrator_pb2_grpc.add_OrchestratorServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(0)


def test_authorization_and_request_id_reach_the_orchestrator(
    fake: tuple[FakeOrchestrator, str],
) -> None:
    servicer, address = fake
    with TestClient(create_app(GatewaySettings(orchestrator=address))) as http:
        ok = http.get(
            "/v1/jobs/J1", headers={"Authorization": "Bearer alice", "X-Request-ID": "abc-1"}
        )
        assert ok.status_code == 200 and ok.json()["state"] == "succeeded"
        assert servicer.seen[-1]["authorization"] == "Bearer alice"
        assert servicer.seen[-1]["x-request-id"] == "abc-1" == ok.headers["x-request-id"]

        anonymous = http.get("/v1/jobs/J1")
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHENTICATED"
        assert "authorization" not in servicer.seen[-1]
        assert len(servicer.seen[-1]["x-request-id"]) == 32  # made by the gateway

        other = http.get("/v1/jobs/J1", headers={"Authorization": "Bearer mallory"})
        assert other.status_code == 403
        assert other.headers["content-type"] == "application/problem+json"
