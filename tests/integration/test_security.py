"""A secured meshpipe system as real processes: TLS on every link from a throwaway CA, mutual
TLS and an internal token on the internal links, bearer tokens on the client API. Real
certificates over real sockets on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from meshpipe.catalogue import STAGES
from meshpipe.client import MeshpipeClient, job_options
from meshpipe.errors import NotFound, Unauthenticated, Unavailable
from meshpipe.launcher.local import HOST, LocalSystem
from meshpipe.runtime.tls import CaFiles, channel_credentials, throwaway_ca
from meshpipe.v1 import arbiter_pb2, arbiter_pb2_grpc, stage_pb2, stage_pb2_grpc
from tests.unit.orchestrator.fakes import scene_png

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef"
INTERNAL = "internal-token-0123456789abcdef"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalSystem, CaFiles]]:
    root = tmp_path_factory.mktemp("secured")
    ca = throwaway_ca(root / "tls")
    env = {f"MESHPIPE_{n.upper()}_INTERNAL_TOKEN": INTERNAL for n in (*STAGES, "orchestrator")}
    env["MESHPIPE_ORCHESTRATOR_TOKENS"] = f"alice:{ALICE},bob:{BOB}"
    system = LocalSystem(root / "run", root / "out", startup_timeout=120, env=env, tls=ca)
    with system:
        yield system, ca


def _client(system: LocalSystem, ca: CaFiles, token: str | None) -> MeshpipeClient:
    return MeshpipeClient(system.orchestrator_address, tls_ca=ca.ca_cert, token=token, timeout=60)


def test_a_client_with_the_ca_and_a_token_runs_a_job_others_cannot_see_it(
    secured: tuple[LocalSystem, CaFiles],
) -> None:
    system, ca = secured
    image, _ = scene_png(n=1)
    with _client(system, ca, ALICE) as alice, _client(system, ca, BOB) as bob:
        done = alice.submit(image, options=job_options(texture=False, octree_resolution=32))
        assert done.done.summary.objects_succeeded == 1
        assert [j.job_id for j in alice.list()] == [done.job_id]
        assert bob.list() == []
        with pytest.raises(NotFound):
            bob.get(done.job_id)
    with _client(system, ca, None) as anonymous, pytest.raises(Unauthenticated):
        anonymous.list()


def test_a_client_trusting_another_ca_cannot_connect(
    secured: tuple[LocalSystem, CaFiles], tmp_path: Path
) -> None:
    system, _ = secured
    other = throwaway_ca(tmp_path / "other")
    client = MeshpipeClient(system.orchestrator_address, tls_ca=other.ca_cert, token=ALICE)
    with client, pytest.raises(Unavailable):
        client.list()


def _hold(address: str, credentials: grpc.ChannelCredentials, token: str | None) -> grpc.RpcError:
    """Try to open an arbiter lease; the error it fails with."""
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    hello = arbiter_pb2.HoldRequest(open=arbiter_pb2.HoldOpen(stage="shape", holder_id="x"))
    with grpc.secure_channel(address, credentials) as channel:
        stream = arbiter_pb2_grpc.ArbiterStub(channel).Hold(iter([hello]), metadata=metadata)
        with pytest.raises(grpc.RpcError) as info:
            next(iter(stream))
        return info.value


def test_the_arbiter_is_not_on_the_public_port(secured: tuple[LocalSystem, CaFiles]) -> None:
    system, ca = secured
    server_only = channel_credentials(str(ca.ca_cert))
    err = _hold(system.orchestrator_address, server_only, ALICE)
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED


def test_the_internal_port_needs_a_client_certificate_and_the_internal_token(
    secured: tuple[LocalSystem, CaFiles],
) -> None:
    system, ca = secured
    internal = f"{HOST}:{system.internal_port}"
    no_cert = channel_credentials(str(ca.ca_cert))
    with_cert = channel_credentials(str(ca.ca_cert), str(ca.cert), str(ca.key))
    assert _hold(internal, no_cert, INTERNAL).code() == grpc.StatusCode.UNAVAILABLE
    assert _hold(internal, with_cert, None).code() == grpc.StatusCode.UNAUTHENTICATED
    assert _hold(internal, with_cert, ALICE).code() == grpc.StatusCode.PERMISSION_DENIED


def test_stage_admin_refuses_callers_without_internal_credentials(
    secured: tuple[LocalSystem, CaFiles],
) -> None:
    system, ca = secured
    address = system.addresses["shape"]
    attempts = [
        (channel_credentials(str(ca.ca_cert)), (), grpc.StatusCode.UNAVAILABLE),
        (
            channel_credentials(str(ca.ca_cert), str(ca.cert), str(ca.key)),
            (),
            grpc.StatusCode.UNAUTHENTICATED,
        ),
    ]
    for credentials, metadata, code in attempts:
        with grpc.secure_channel(address, credentials) as channel:
            stub = stage_pb2_grpc.StageAdminStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.Unload(stage_pb2.UnloadRequest(), metadata=metadata, timeout=10)
            assert info.value.code() == code


def _internal_credentials(ca: CaFiles) -> grpc.ChannelCredentials:
    return channel_credentials(str(ca.ca_cert), str(ca.cert), str(ca.key))


def test_every_process_answers_health_watch_and_reflection(
    secured: tuple[LocalSystem, CaFiles],
) -> None:
    system, ca = secured
    addresses = {**system.addresses, "arbiter": f"{HOST}:{system.internal_port}"}
    expected = {
        "orchestrator": "meshpipe.v1.Orchestrator",
        "arbiter": "meshpipe.v1.Arbiter",
        "shape": "meshpipe.v1.StageAdmin",
    }
    for name, address in addresses.items():
        with grpc.secure_channel(address, _internal_credentials(ca)) as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(), timeout=10
            )
            first = next(iter(watch))
            watch.cancel()
            assert first.status == health_pb2.HealthCheckResponse.SERVING, name
            reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
            ask = reflection_pb2.ServerReflectionRequest(list_services="")
            reply = next(iter(reflect.ServerReflectionInfo(iter([ask]), timeout=10)))
            names = {s.name for s in reply.list_services_response.service}
            assert "grpc.health.v1.Health" in names, name
            assert expected.get(name, "grpc.health.v1.Health") in names, name


def test_a_stage_logs_the_forwarded_request_id(secured: tuple[LocalSystem, CaFiles]) -> None:
    system, ca = secured
    metadata = (("authorization", f"Bearer {INTERNAL}"), ("x-request-id", "trace-sec-7"))
    with grpc.secure_channel(system.addresses["matting"], _internal_credentials(ca)) as channel:
        stub = stage_pb2_grpc.MattingStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Matte(stage_pb2.MatteRequest(image=b"not an image"), metadata=metadata, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    log_text = (system.run_dir / "matting.log").read_text()
    lines = [line for line in log_text.splitlines() if "INVALID_ARGUMENT" in line]
    assert lines and all("[trace-sec-7]" in line for line in lines[-1:])


@pytest.mark.parametrize("command", [["orchestrator"], ["arbiter"], ["stage", "matting"]])
def test_an_unauthenticated_public_bind_is_refused_in_one_line(
    command: list[str], tmp_path: Path
) -> None:
    argv = [sys.executable, "-m", "meshpipe.cli.main", *command]
    argv += ["--host", "0.0.0.0", "--port", "0", "--metrics-port", "-1"]
    env = {**os.environ, "MESHPIPE_ORCHESTRATOR_OUTPUT_DIR": str(tmp_path)}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr  # one line, no traceback
    assert "refusing to bind 0.0.0.0 without authentication" in proc.stderr
    assert "--insecure" in proc.stderr
