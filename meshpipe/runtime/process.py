"""Process plumbing shared by every server process: logging, the gRPC server and its
options, health, signals, ready file."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from meshpipe.runtime.auth import Gate
from meshpipe.runtime.callctx import RequestIdFilter
from meshpipe.runtime.interceptors import ServerCallInterceptor

HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


def configure_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Configure the root logger once, at process start (stderr)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if json_lines:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s[%(process)d] [%(request_id)s]: %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": record.created,
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "request_id": getattr(record, "request_id", "-"),
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def grpc_options(max_message_bytes: int) -> list[tuple[str, Any]]:
    """Channel/server options used on both ends of meshpipe's internal calls."""
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]


@dataclass(frozen=True)
class Keepalive:
    """The servers' keepalive policy (docs/security.md#keepalive). Clients may ping every
    `min_ping_interval_ms` or slower, with or without calls in flight; a client that pings
    faster is sent GOAWAY "too_many_pings" after `max_ping_strikes` bad pings. The server
    pings an idle connection every `time_ms` and drops it when no answer comes within
    `timeout_ms`."""

    min_ping_interval_ms: int = 5_000
    max_ping_strikes: int = 2
    time_ms: int = 60_000
    timeout_ms: int = 20_000

    def server_options(self) -> list[tuple[str, Any]]:
        return [
            ("grpc.http2.min_ping_interval_without_data_ms", self.min_ping_interval_ms),
            ("grpc.http2.min_recv_ping_interval_without_data_ms", self.min_ping_interval_ms),
            ("grpc.http2.max_ping_strikes", self.max_ping_strikes),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.keepalive_time_ms", self.time_ms),
            ("grpc.keepalive_timeout_ms", self.timeout_ms),
        ]


KEEPALIVE = Keepalive()
# What meshpipe's own clients do: ping every 30 s, also between calls (well above the
# servers' 5 s minimum), and keep pinging a connection without data.
CLIENT_KEEPALIVE: list[tuple[str, Any]] = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]


def build_grpc_server(
    address: str,
    max_message_bytes: int,
    add_services: Callable[[grpc.aio.Server], None],
    *,
    services: Sequence[str] = (),
    gate: Gate | None = None,
    credentials: grpc.ServerCredentials | None = None,
    keepalive: Keepalive = KEEPALIVE,
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """A meshpipe gRPC server, bound but not started: the call interceptor (request ids,
    `gate` authentication, error table), the message limits and keepalive policy, the
    services `add_services` adds, grpc.health.v1 and server reflection (listing `services`
    too). TLS with `credentials`. Returns (server, bound port, health servicer); an address
    that cannot be bound raises."""
    server = grpc.aio.server(
        interceptors=[ServerCallInterceptor(gate)],
        options=[*grpc_options(max_message_bytes), *keepalive.server_options()],
    )
    add_services(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*services, HEALTH_SERVICE, reflection.SERVICE_NAME), server
    )
    if credentials is not None:
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"could not bind {address}")
    return server, port, health_servicer


async def set_health(
    health_servicer: health.aio.HealthServicer, names: Iterable[str], serving: bool = True
) -> None:
    """Report SERVING (or NOT_SERVING) for each service name ("" is the whole server)."""
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in names:
        await health_servicer.set(name, status)


def write_ready_file(path: str | None, info: dict[str, Any]) -> None:
    """Atomically write the bound ports so that a parent process can find them."""
    if not path:
        return
    target = Path(path)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps({**info, "pid": os.getpid()}))
    tmp.replace(target)


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set `stop` on SIGTERM or SIGINT (graceful shutdown)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
