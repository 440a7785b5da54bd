"""`meshpipe up / down / ps / logs`: the whole system in Docker containers on one host."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from meshpipe.launcher.docker_config import LaunchConfig
from meshpipe.launcher.docker_services import ALL_SERVICES, STAGES


class UsageError(Exception):
    """A flag value that makes no sense (reported as one line, exit 1)."""


def register(sub: Any) -> None:
    up = sub.add_parser("up", help="start every service in Docker (idempotent)")
    _common(up)
    up.add_argument("--tag", default="dev", help="image tag (meshpipe-<service>:TAG)")
    up.add_argument("--image-prefix", default="meshpipe-", help="image name prefix")
    up.add_argument("--publish-host", default="127.0.0.1", help="host address to publish on")
    up.add_argument("--port", type=int, default=50051, help="orchestrator port (0 = any)")
    up.add_argument(
        "--metrics-base-port",
        type=int,
        default=9100,
        help="host port of the orchestrator's /metrics, stages follow (+1..+4), arbiter +10; "
        "0 = any free ports, -1 = do not publish",
    )
    up.add_argument("--gpus", help="'all' or device ids '0,1' (needs the NVIDIA runtime)")
    up.add_argument(
        "--gpu-services", default=",".join(STAGES), help="stages that get the GPUs (comma list)"
    )
    up.add_argument("--no-arbiter", action="store_true", help="run without the lease arbiter")
    up.add_argument(
        "--http-port", type=int, default=8080, help="host port of the HTTP gateway (0 = any)"
    )
    up.add_argument("--no-gateway", action="store_true", help="run without the HTTP gateway")
    up.add_argument(
        "--weights-dir",
        default="~/.u2net",
        help="host folder mounted read-only at /weights in the stages (holds u2netp.onnx)",
    )
    up.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="SERVICE:KEY=VALUE",
        help="extra environment for one service (repeatable)",
    )
    up.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for health")
    up.set_defaults(func=run_up)

    down = sub.add_parser("down", help="stop and remove the Docker deployment")
    _common(down)
    down.add_argument("--volumes", action="store_true", help="also remove the output volume")
    down.set_defaults(func=run_down)

    ps = sub.add_parser("ps", help="list the deployment's containers")
    _common(ps)
    ps.set_defaults(func=run_ps)

    logs = sub.add_parser("logs", help="print a service container's log")
    _common(logs)
    logs.add_argument("service", choices=ALL_SERVICES)
    logs.add_argument("--tail", type=int, default=100, help="lines from the end")
    logs.add_argument("-f", "--follow", action="store_true", help="keep following")
    logs.set_defaults(func=run_logs)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", default="meshpipe", help="name prefix and label of everything")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def launch_config(args: argparse.Namespace) -> LaunchConfig:
    """The LaunchConfig that `meshpipe up` flags describe."""
    weights = Path(args.weights_dir).expanduser().resolve()
    if not weights.is_dir():
        raise UsageError(
            f"weights folder {weights} missing: run `meshpipe weights fetch-default --dir {weights}`"
        )
    return LaunchConfig(
        project=args.project,
        image_prefix=args.image_prefix,
        tag=args.tag,
        publish_host=args.publish_host,
        port=args.port,
        metrics_base_port=None if args.metrics_base_port < 0 else args.metrics_base_port,
        gpus=args.gpus,
        gpu_services=tuple(s for s in args.gpu_services.split(",") if s),
        arbiter=not args.no_arbiter,
        gateway=not args.no_gateway,
        http_port=args.http_port,
        weights_dir=str(weights),
        env=parse_env(args.env),
    )


def parse_env(items: list[str]) -> dict[str, dict[str, str]]:
    """['matting:KEY=VALUE', ...] -> {'matting': {'KEY': 'VALUE'}}."""
    env: dict[str, dict[str, str]] = {}
    for item in items:
        service, sep, assignment = item.partition(":")
        key, eq, value = assignment.partition("=")
        if not sep or not eq or not key or service not in ALL_SERVICES:
            raise UsageError(
                f"--env {item!r}: expected SERVICE:KEY=VALUE with SERVICE in {ALL_SERVICES}"
            )
        env.setdefault(service, {})[key] = value
    return env


def _guarded(body: Callable[[], int]) -> int:
    """Run a command; launcher and usage errors become one line on stderr and exit 1."""
    from meshpipe.launcher.docker_launcher import LauncherError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return body()
    except (LauncherError, UsageError) as exc:
        print(f"meshpipe: {exc}", file=sys.stderr)
        return 1


def _launcher(args: argparse.Namespace, config: LaunchConfig | None = None) -> Any:
    from meshpipe.launcher.docker_launcher import DockerLauncher, connect

    return DockerLauncher(connect(), config or LaunchConfig(project=args.project))


def run_up(args: argparse.Namespace) -> int:
    def body() -> int:
        config = launch_config(args)
        rows = _launcher(args, config).up(timeout=args.timeout)
        _print_rows(rows, args.json)
        return 0

    return _guarded(body)


def run_down(args: argparse.Namespace) -> int:
    def body() -> int:
        removed = _launcher(args).down(volumes=args.volumes)
        print(
            json.dumps(removed) if args.json else ", ".join(f"{v} {k}" for k, v in removed.items())
        )
        return 0

    return _guarded(body)


def run_ps(args: argparse.Namespace) -> int:
    return _guarded(lambda: _print_rows(_launcher(args).ps(), args.json))


def run_logs(args: argparse.Namespace) -> int:
    def body() -> int:
        for chunk in _launcher(args).logs(args.service, tail=args.tail, follow=args.follow):
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        return 0

    return _guarded(body)


def _print_rows(rows: list[Any], as_json: bool) -> int:
    if as_json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    print(f"{'SERVICE':<13} {'CONTAINER':<24} {'STATE':<10} {'HEALTH':<10} PUBLISHED")
    for r in rows:
        ports = " ".join(f"{addr}->{port}" for port, addr in sorted(r.ports.items()))
        print(f"{r.service:<13} {r.container:<24} {r.state:<10} {r.health:<10} {ports}")
    return 0
