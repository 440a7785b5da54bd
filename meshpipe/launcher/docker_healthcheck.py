"""Container health probe: one standard grpc.health.v1 Check, exit 0 when SERVING (for the
HTTP gateway: GET /healthz answering 200).

    python -m meshpipe.launcher.docker_healthcheck matting        # port from the settings
    python -m meshpipe.launcher.docker_healthcheck 10.0.0.7:50062 # explicit address
    python -m meshpipe.launcher.docker_healthcheck gateway        # HTTP /healthz

Used as the images' HEALTHCHECK and by the Docker launcher's start-up wait. It never
forces a model load: the health service answers from the server, not from the model.
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


def probe(address: str, service: str = "", timeout: float = 3.0) -> str:
    """Health status name of `service` at `address` (UNREACHABLE when no answer)."""
    with grpc.insecure_channel(address) as channel:
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
        status = probe(address, args.service, args.timeout)
    if status == "SERVING":
        return 0
    sys.stderr.write(f"{address}: {status}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
