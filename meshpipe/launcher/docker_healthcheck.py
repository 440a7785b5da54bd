"""Container health probe: one standard grpc.health.v1 Check, exit 0 when SERVING (for the
HTTP gateway: GET /healthz answering 200).

    python -m meshpipe.launcher.docker_healthcheck matting        # port from the settings
    python -m meshpipe.launcher.docker_healthcheck 10.0.0.7:50062 # explicit address
    python -m meshpipe.launcher.docker_healthcheck gateway        # HTTP /healthz

Used as the images' HEALTHCHECK, the Kubernetes probes of TLS deployments and the Docker
launcher's start-up wait. It never forces a model load: the health service answers from the
server, not from the model. When the service's settings name a certificate, the probe
speaks TLS (presenting that certificate, for mutual TLS) and checks the server's
certificate against the service name (`matting`, ...), which its certificate must list.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from meshpipe.launcher.docker_services import settings_class
from meshpipe.runtime.security import SecuritySettings
from meshpipe.runtime.tls import channel_credentials


def probe(
    address: str,
    service: str = "",
    timeout: float = 3.0,
    credentials: grpc.ChannelCredentials | None = None,
    server_name: str = "",
) -> str:
    """Health status name of `service` at `address` (UNREACHABLE when no answer); over TLS
    with `credentials`, expecting a certificate for `server_name` when given."""
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    channel = (
        grpc.secure_channel(address, credentials, options)
        if credentials is not None
        else grpc.insecure_channel(address)
    )
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            return "UNREACHABLE" if code == grpc.StatusCode.UNAVAILABLE else str(code)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def probe_http(address: str, timeout: float = 3.0) -> str:
    """SERVING when http://address/healthz answers 200, else what went wrong."""
    try:
        with urllib.request.urlopen(f"http://{address}/healthz", timeout=timeout) as reply:
            return "SERVING" if reply.status == 200 else f"HTTP {reply.status}"
    except (urllib.error.URLError, OSError) as exc:
        return f"UNREACHABLE ({exc})"


def address_of(target: str) -> str:
    """`host:port` as given, or 127.0.0.1 and the port a service's settings give."""
    if ":" in target:
        return target
    settings = settings_class(target)()
    return f"127.0.0.1:{getattr(settings, 'port')}"  # noqa: B009 - BaseSettings has no .port


def tls_of(target: str) -> grpc.ChannelCredentials | None:
    """TLS credentials from a service's settings (None without a certificate, or for an
    explicit address)."""
    if ":" in target:
        return None
    settings = settings_class(target)()
    if not getattr(settings, "tls_cert_file", ""):
        return None
    s: SecuritySettings = settings  # type: ignore[assignment]
    return channel_credentials(s.tls_ca_file, s.tls_cert_file, s.tls_key_file)


def main(argv: Sequence[str] | None = None) -> int:
    """Probe once; print the status on failure; exit 0 when SERVING."""
    parser = argparse.ArgumentParser(description="gRPC health probe of a meshpipe process")
    parser.add_argument("target", help="service name (detector, ..., orchestrator) or host:port")
    parser.add_argument("--service", default="", help="gRPC service name to check ('' = server)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds")
    args = parser.parse_args(argv)
    address = address_of(args.target)
    if args.target == "gateway":
        status = probe_http(address, args.timeout)
    else:
        credentials = tls_of(args.target)
        name = args.target if credentials is not None else ""
        status = probe(address, args.service, args.timeout, credentials, name)
    if status == "SERVING":
        return 0
    sys.stderr.write(f"{address}: {status}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
