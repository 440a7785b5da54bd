"""The gateway process: uvicorn serving create_app(settings); the bound port goes to the ready
file (so `--port 0` works for launchers and tests); SIGTERM/SIGINT stop it gracefully."""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings
from meshpipe.runtime.process import configure_logging, write_ready_file

log = logging.getLogger(__name__)


def serve(settings: GatewaySettings) -> None:
    """Serve until SIGTERM/SIGINT."""
    configure_logging(settings.log_level)
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings),
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        proxy_headers=True,
    )
    server = uvicorn.Server(config)
    asyncio.run(_run(server, sock, settings, port))


async def _run(
    server: uvicorn.Server, sock: socket.socket, settings: GatewaySettings, port: int
) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    # uvicorn has no "started" event to await; its flag is polled until set
    while not server.started and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    if server.started:
        log.info(
            "gateway serving http://%s:%d (orchestrator %s)",
            settings.host,
            port,
            settings.orchestrator,
        )
        write_ready_file(settings.ready_file, {"http_port": port})
    await task
