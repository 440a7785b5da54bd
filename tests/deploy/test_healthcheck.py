"""The container health probe against a real grpc.health.v1 server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from meshpipe.launcher import docker_healthcheck
from meshpipe.launcher.docker_healthcheck import address_of, main, probe

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def server() -> Iterator[tuple[int, health.HealthServicer]]:
    from concurrent import futures

    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, srv)
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    yield port, servicer
    srv.stop(0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_statuses(server: tuple[int, health.HealthServicer]) -> None:
    port, servicer = server
    address = f"127.0.0.1:{port}"
    servicer.set("", SERVING)
    servicer.set("meshpipe.v1.Matting", NOT_SERVING)
    assert probe(address) == "SERVING"
    assert probe(address, "meshpipe.v1.Matting") == "NOT_SERVING"
    assert probe(address, "meshpipe.v1.Unknown") == str(grpc.StatusCode.NOT_FOUND)
    assert probe(f"127.0.0.1:{free_port()}", timeout=1.0) == "UNREACHABLE"


def test_exit_codes(
    server: tuple[int, health.HealthServicer], capsys: pytest.CaptureFixture[str]
) -> None:
    port, servicer = server
    servicer.set("", SERVING)
    assert main([f"127.0.0.1:{port}"]) == 0
    servicer.set("", NOT_SERVING)
    assert main([f"127.0.0.1:{port}"]) == 1
    assert capsys.readouterr().err.strip() == f"127.0.0.1:{port}: NOT_SERVING"


def test_service_name_resolves_its_port_from_the_settings(
    server: tuple[int, health.HealthServicer], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert address_of("matting") == "127.0.0.1:50062"
    assert address_of("orchestrator") == "127.0.0.1:50051"
    assert address_of("arbiter") == "127.0.0.1:50070"
    assert address_of("10.1.2.3:7") == "10.1.2.3:7"
    port, servicer = server
    servicer.set("", SERVING)
    monkeypatch.setenv("MESHPIPE_SHAPE_PORT", str(port))
    assert address_of("shape") == f"127.0.0.1:{port}"
    assert docker_healthcheck.main(["shape"]) == 0
