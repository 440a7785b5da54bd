"""Process plumbing shared by every server process: logging, the gRPC server and its
options, health, signals, ready file."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from meshpipe.runtime.interceptors import ErrorMappingInterceptor


def configure_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Configure the root logger once, at process start (stderr)."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
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


def build_grpc_server(
    address: str, max_message_bytes: int, add_services: Callable[[grpc.aio.Server], None]
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """A meshpipe gRPC server, bound but not started: the error-mapping interceptor, the
    message limits, the services `add_services` adds and grpc.health.v1. Returns (server,
    bound port, health servicer); an address that cannot be bound raises."""
    server = grpc.aio.server(
        interceptors=[ErrorMappingInterceptor()], options=grpc_options(max_message_bytes)
    )
    add_services(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
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
