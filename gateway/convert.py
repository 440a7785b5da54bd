"""Orchestrator messages as JSON: the proto3 JSON mapping (field names as in the proto, every
field printed), plus a `url` on each artifact pointing at the gateway's download route."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from meshpipe.v1 import orchestrator_pb2 as pb


def to_json(message: Message) -> dict[str, Any]:
    """A message as a JSON-ready dict with artifact URLs added."""
    data = MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    _add_urls(data)
    return data


def artifact_url(artifact_id: str, relative_path: str) -> str:
    """The gateway path that serves an artifact (`<job_id>:<relative path>` ids)."""
    job_id = artifact_id.split(":", 1)[0]
    return f"/v1/jobs/{quote(job_id)}/artifacts/{quote(relative_path)}"


def _add_urls(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("artifact_id") and node.get("relative_path"):
            node["url"] = artifact_url(node["artifact_id"], node["relative_path"])
        for value in node.values():
            _add_urls(value)
    elif isinstance(node, list):
        for value in node:
            _add_urls(value)


def state_name(state: int) -> str:
    """`JOB_STATE_SUCCEEDED` -> `succeeded`."""
    return pb.JobState.Name(state).removeprefix("JOB_STATE_").lower()


def job_links(job_id: str) -> dict[str, str]:
    """Where a job's resources are."""
    base = f"/v1/jobs/{quote(job_id)}"
    return {
        "self": base,
        "events": f"{base}/events",
        "archive": f"{base}/archive.zip",
        "studio": f"/jobs/{quote(job_id)}",
    }


def event_kind(event: pb.JobEvent) -> str:
    """The oneof's name: accepted, detections, progress, result, error, skipped, queued,
    heartbeat, done (empty for an event kind this gateway does not know yet)."""
    return event.WhichOneof("event") or ""


def job_view(reply: pb.GetJobResponse) -> dict[str, Any]:
    """GET /v1/jobs/{id}: the summary, objects (results, errors, skipped) and links."""
    data = to_json(reply)
    summary = data.get("summary", {})
    job_id = reply.summary.job_id
    return {
        "job_id": job_id,
        "state": state_name(reply.summary.state),
        "summary": summary,
        "objects": data.get("results", []),
        "errors": data.get("errors", []),
        "skipped": data.get("skipped", []),
        "links": job_links(job_id),
    }


def summary_view(summary: pb.JobSummary) -> dict[str, Any]:
    """One job of GET /v1/jobs."""
    return {
        "job_id": summary.job_id,
        "state": state_name(summary.state),
        "summary": to_json(summary),
        "links": job_links(summary.job_id),
    }
