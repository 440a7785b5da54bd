"""`GET /v1/jobs/{id}/events`: the job's event stream (WatchJob) as Server-Sent Events.

Each event is `id: <sequence>`, `event: <kind>` (accepted, queued, detections, progress,
result, object_error (the proto's `error`: EventSource reserves that name), skipped,
heartbeat, done) and `data: <the event as JSON>`. A client resumes
with `Last-Event-ID` (EventSource does that on its own) or `?from=N`. A `: heartbeat`
comment goes out after `heartbeat_seconds` of silence. The stream ends after `done`.

Written here rather than with sse-starlette: the heartbeat must interleave with a gRPC
stream read in another task, which is the whole of the work (a queue and a timeout).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from gateway import deps
from gateway.client import Metadata, Orchestrator
from gateway.convert import event_kind, to_json
from gateway.middleware import GatewayMetrics
from gateway.problems import ApiProblem, from_rpc_error
from gateway.settings import GatewaySettings
from meshpipe.v1 import orchestrator_pb2 as pb

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/jobs", tags=["events"])
_END = object()
RECONNECT_MS = 2000


@router.get("/{job_id}/events", response_class=StreamingResponse)
async def job_events(
    job_id: str,
    client: Annotated[Orchestrator, Depends(deps.orchestrator)],
    settings: Annotated[GatewaySettings, Depends(deps.settings)],
    metrics: Annotated[GatewayMetrics, Depends(deps.metrics)],
    metadata: Annotated[Metadata, Depends(deps.call_metadata)],
    last_event_id: Annotated[str, Header()] = "",
    from_sequence: Annotated[int, Query(alias="from", ge=0)] = 0,
) -> StreamingResponse:
    """The job's events from the start (or after `Last-Event-ID`), then live until done."""
    start = _start_sequence(last_event_id, from_sequence)
    await client.get(job_id, metadata)  # 404 (or 401/403) before the stream starts
    stream = client.watch(job_id, start, metadata)
    body = _sse(stream, settings.heartbeat_seconds, metrics)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


def _start_sequence(last_event_id: str, from_sequence: int) -> int:
    if not last_event_id:
        return from_sequence
    if not last_event_id.strip().isdigit():
        raise ApiProblem(400, f"Last-Event-ID: not a sequence number: {last_event_id!r}")
    return int(last_event_id) + 1


def format_event(event: pb.JobEvent) -> str:
    """One SSE message for a job event."""
    data = json.dumps(to_json(event), separators=(",", ":"))
    kind = event_kind(event) or "unknown"
    if kind == "error":  # EventSource's own `error` event is for connection errors
        kind = "object_error"
    return f"id: {event.sequence}\nevent: {kind}\ndata: {data}\n\n"


async def _sse(
    stream: AsyncIterator[pb.JobEvent], heartbeat: float, metrics: GatewayMetrics
) -> AsyncIterator[str]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    pump = asyncio.create_task(_pump(stream, queue))
    metrics.streams.inc()
    try:
        yield f"retry: {RECONNECT_MS}\n: meshpipe job events\n\n"
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), heartbeat)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if item is _END:
                return
            if isinstance(item, grpc.RpcError):
                yield _problem_event(item)
                return
            yield format_event(item)
            if item.HasField("done"):
                return
    finally:
        metrics.streams.dec()
        pump.cancel()
        cancel = getattr(stream, "cancel", None)
        if callable(cancel):
            cancel()


async def _pump(stream: AsyncIterator[pb.JobEvent], queue: asyncio.Queue[Any]) -> None:
    try:
        async for event in stream:
            await queue.put(event)
        await queue.put(_END)
    except grpc.RpcError as err:
        await queue.put(err)


def _problem_event(err: grpc.RpcError) -> str:
    """The stream broke: an `event: problem`; for UNAVAILABLE (the orchestrator restarting)
    the client reconnects with Last-Event-ID and the stream continues where it stopped."""
    problem = from_rpc_error(err)
    body = {"status": problem.status, "code": problem.code, "detail": problem.detail}
    log.info("event stream ended: %s %s", problem.code, problem.detail)
    return f"event: problem\ndata: {json.dumps(body)}\n\n"
