"""`meshpipe jobs list|get|cancel|watch|delete`: inspect and control jobs of a running orchestrator."""

from __future__ import annotations

import argparse
import time
from typing import Any

from meshpipe.cli.submit_cmd import (
    EventPrinter,
    add_connection_arguments,
    connect,
    fail,
    final_mesh,
    report_done,
)
from meshpipe.client import MeshpipeClient
from meshpipe.errors import MeshpipeError
from meshpipe.v1 import orchestrator_pb2 as pb


def register(sub: Any) -> None:
    """Add `meshpipe jobs` to the parser."""
    p = sub.add_parser("jobs", help="list, inspect, watch, cancel or delete jobs")
    jsub = p.add_subparsers(dest="jobs_command", required=True)
    ls = jsub.add_parser("list", help="jobs, newest first")
    ls.add_argument("--limit", type=int, default=20)
    for name, help_ in (
        ("get", "status, results and errors of a job"),
        ("cancel", "cancel a job"),
        ("watch", "follow a job's events until it ends"),
        ("delete", "delete a finished job: its records and its folder"),
    ):
        c = jsub.add_parser(name, help=help_)
        c.add_argument("job_id")
    for c in jsub.choices.values():
        add_connection_arguments(c)
    p.set_defaults(func=run)


def _state(state: int) -> str:
    return pb.JobState.Name(state).removeprefix("JOB_STATE_").lower()


def run(args: argparse.Namespace) -> int:
    """Run one `jobs` sub-command."""
    try:
        with connect(args) as client:
            return int(_COMMANDS[args.jobs_command](client, args))
    except MeshpipeError as exc:
        return fail(exc)


def _list(client: MeshpipeClient, args: argparse.Namespace) -> int:
    print(f"{'job id':48} {'state':10} {'objects':>8}  {'created (UTC)':19}  name")
    for j in client.list(args.limit):
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(j.created_at))
        objects = f"{j.objects_succeeded}/{j.objects_total}"
        print(f"{j.job_id:48} {_state(j.state):10} {objects:>8}  {created:19}  {j.name}")
    return 0


def _get(client: MeshpipeClient, args: argparse.Namespace) -> int:
    view = client.get(args.job_id)
    s = view.summary
    skipped = f", {s.objects_skipped} skipped" if s.objects_skipped else ""
    print(
        f"job {s.job_id}: {_state(s.state)}, "
        f"{s.objects_succeeded}/{s.objects_total} objects{skipped}"
    )
    if s.request_id:
        print(f"request id: {s.request_id}")
    if s.error:
        print(f"error: {s.error}")
    for r in view.results:
        print(f"  object {r.object_index} ({r.label}): {final_mesh(r)}")
    for e in view.errors:
        print(f"  object {e.object_index}: {e.code}: {e.message}")
    for k in view.skipped:
        print(f"  object {k.object_index}: skipped: {k.reason}")
    return 0


def _cancel(client: MeshpipeClient, args: argparse.Namespace) -> int:
    print(f"job {args.job_id}: {_state(client.cancel(args.job_id))}")
    return 0


def _delete(client: MeshpipeClient, args: argparse.Namespace) -> int:
    freed = client.delete(args.job_id)
    print(f"job {args.job_id}: deleted ({freed} bytes freed)")
    return 0


def _watch(client: MeshpipeClient, args: argparse.Namespace) -> int:
    return report_done(client.watch(args.job_id, on_event=EventPrinter()))


_COMMANDS = {
    "list": _list,
    "get": _get,
    "cancel": _cancel,
    "watch": _watch,
    "delete": _delete,
}
