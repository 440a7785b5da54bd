"""REST: submit, list, get and cancel jobs (`/v1/jobs`)."""

from __future__ import annotations

from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from gateway import deps
from gateway.client import Metadata, Orchestrator
from gateway.convert import job_links, job_view, state_name, summary_view
from gateway.options import JobFields, JsonJob, decode_base64, submit_request
from gateway.problems import ApiProblem, from_rpc_error
from gateway.settings import GatewaySettings
from meshpipe.v1 import orchestrator_pb2 as pb

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
Client = Annotated[Orchestrator, Depends(deps.orchestrator)]
Settings = Annotated[GatewaySettings, Depends(deps.settings)]
CallMetadata = Annotated[Metadata, Depends(deps.call_metadata)]

SUBMIT_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "format": "binary"},
                        **JobFields.model_json_schema()["properties"],
                    },
                }
            },
            "application/json": {"schema": JsonJob.model_json_schema()},
        },
        "required": True,
    }
}


@router.post("", status_code=202, openapi_extra=SUBMIT_BODY)
async def submit_job(
    request: Request,
    client: Client,
    settings: Settings,
    metadata: CallMetadata,
    idempotency_key: Annotated[str, Header(max_length=128)] = "",
) -> JSONResponse:
    """Submit a photo (multipart `image` + option fields, or JSON with `image_base64`);
    202 with the job id and links. A retry with the same `Idempotency-Key` attaches to the
    job the first one created."""
    _check_length(request, settings.max_upload_bytes)
    image, fields = await _read_submission(request, settings.max_upload_bytes)
    stream = client.submit(submit_request(image, fields, idempotency_key), metadata)
    try:
        first = await anext(aiter(stream))
    except grpc.RpcError as err:
        raise from_rpc_error(err, settings.retry_after_seconds) from None
    except StopAsyncIteration:
        raise ApiProblem(502, "the orchestrator ended the stream without accepting") from None
    finally:
        _cancel(stream)  # the job goes on; a client follows it with /events
    body: dict[str, Any] = {
        "job_id": first.job_id,
        "state": "queued",
        "links": job_links(first.job_id),
    }
    if first.HasField("accepted"):
        body["accepted"] = {
            "image_width": first.accepted.image_width,
            "image_height": first.accepted.image_height,
            "seed": str(first.accepted.seed),
        }
    return JSONResponse(body, status_code=202, headers={"Location": body["links"]["self"]})


@router.get("")
async def list_jobs(
    client: Client,
    metadata: CallMetadata,
    page_size: Annotated[int, Query(ge=0, le=1000)] = 20,
    page_token: str = "",
    state: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    """Jobs, newest first, one page at a time (`next_page_token` for the next)."""
    states = [_state_value(name) for name in state or []]
    request = pb.ListJobsRequest(
        page_size=page_size, limit=page_size, page_token=page_token, states=states
    )
    reply = await client.list(request, metadata)
    jobs = list(reply.jobs)
    if states:  # an orchestrator without state filtering yet: filter the page here
        jobs = [job for job in jobs if job.state in states]
    body: dict[str, Any] = {
        "jobs": [summary_view(job) for job in jobs],
        "next_page_token": reply.next_page_token,
    }
    if reply.next_page_token:
        body["next"] = f"/v1/jobs?page_size={page_size}&page_token={reply.next_page_token}"
    return body


@router.get("/{job_id}")
async def get_job(job_id: str, client: Client, metadata: CallMetadata) -> dict[str, Any]:
    """A job's state, summary, finished objects (label, box, stages, artifact URLs), failed
    and skipped objects."""
    return job_view(await client.get(job_id, metadata))


@router.delete("/{job_id}")
async def cancel_job(job_id: str, client: Client, metadata: CallMetadata) -> dict[str, Any]:
    """Cancel a job (returns once it has ended; a finished job keeps its final state)."""
    reply = await client.cancel(job_id, metadata)
    return {"job_id": job_id, "state": state_name(reply.state), "links": job_links(job_id)}


def _check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length", "")
    # base64 in JSON is 4/3 of the photo; multipart adds a little framing
    if length.isdigit() and int(length) > limit * 4 // 3 + 64 * 1024:
        raise ApiProblem(
            413, f"request body of {length} bytes is over the upload limit ({limit} bytes)"
        )


async def _read_submission(request: Request, limit: int) -> tuple[bytes, JobFields]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _read_form(request, limit)
    if content_type.startswith("application/json"):
        try:
            job = JsonJob.model_validate_json(await request.body())
        except ValidationError as err:
            raise ApiProblem(422, _errors(err)) from None
        image = decode_base64(job.image_base64, limit)
        return image, JobFields.model_validate(job.model_dump(exclude={"image_base64"}))
    raise ApiProblem(415, "send multipart/form-data (image + fields) or application/json")


async def _read_form(request: Request, limit: int) -> tuple[bytes, JobFields]:
    try:
        form = await request.form(max_files=1, max_fields=64)
    except Exception as err:  # multipart parser errors: malformed body
        raise ApiProblem(400, f"malformed multipart body: {err}") from None
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        raise ApiProblem(422, "image: a file field named 'image' is required")
    image = await upload.read(limit + 1)
    if len(image) > limit:
        raise ApiProblem(413, f"image: the photo is over the {limit}-byte limit")
    if not image:
        raise ApiProblem(422, "image: empty file")
    values: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key == "image" or not isinstance(value, str):
            continue
        if key == "formats":
            values.setdefault("formats", []).append(value)
        elif key == "seed" and value == "":
            continue
        else:
            values[key] = value
    try:
        return image, JobFields.model_validate(values)
    except ValidationError as err:
        raise ApiProblem(422, _errors(err)) from None


def _errors(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e.get("loc", ()))
        parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
    return "; ".join(parts)


def _state_value(name: str) -> Any:
    try:
        return pb.JobState.Value("JOB_STATE_" + name.strip().upper())
    except ValueError:
        raise ApiProblem(422, f"state: unknown job state {name!r}") from None


def _cancel(stream: Any) -> None:
    cancel = getattr(stream, "cancel", None)
    if callable(cancel):
        cancel()
