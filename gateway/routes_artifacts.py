"""`GET /v1/jobs/{id}/artifacts/{path}` (streamed, media type, ETag, Range) and
`GET /v1/jobs/{id}/archive.zip` (every file of the job, streamed as a zip)."""

from __future__ import annotations

import hashlib
from typing import Annotated

import grpc
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from gateway import deps
from gateway.artifacts import (
    job_artifacts,
    media_type,
    open_download,
    parse_range,
    rpc_code,
)
from gateway.client import Metadata, Orchestrator
from gateway.problems import ApiProblem
from gateway.zipstream import stream_archive

router = APIRouter(prefix="/v1/jobs", tags=["artifacts"])
Client = Annotated[Orchestrator, Depends(deps.orchestrator)]
CallMetadata = Annotated[Metadata, Depends(deps.call_metadata)]
INPUT_SUFFIXES = ("jpg", "png", "webp")


@router.get("/{job_id}/archive.zip", response_class=StreamingResponse)
async def job_archive(job_id: str, client: Client, metadata: CallMetadata) -> StreamingResponse:
    """Every file of the job (input, crops, mattes, meshes, formats, scene, manifest) as one
    zip, streamed as it is read from the orchestrator."""
    reply = await client.get(job_id, metadata)
    headers = {"Content-Disposition": f'attachment; filename="{job_id}.zip"'}
    body = stream_archive(client, job_id, job_artifacts(reply), metadata)
    return StreamingResponse(body, media_type="application/zip", headers=headers)


@router.get("/{job_id}/input", response_class=StreamingResponse)
async def job_input(job_id: str, client: Client, metadata: CallMetadata) -> Response:
    """The submitted photo as received (`input.png|jpg|webp`)."""
    for suffix in INPUT_SUFFIXES:
        try:
            download = await open_download(client, f"{job_id}:input.{suffix}", 0, metadata)
        except grpc.RpcError as err:
            if rpc_code(err) == grpc.StatusCode.NOT_FOUND:
                continue
            raise
        headers = {"Content-Length": str(download.total), "Cache-Control": "private, max-age=3600"}
        body = download.body(download.total - 1)
        return StreamingResponse(body, media_type=media_type(f"x.{suffix}"), headers=headers)
    raise ApiProblem(404, f"no input photo for job {job_id}")


@router.get("/{job_id}/artifacts/{path:path}", response_class=StreamingResponse)
async def artifact(
    job_id: str, path: str, request: Request, client: Client, metadata: CallMetadata
) -> Response:
    """One artifact, streamed, with its media type, an ETag (its SHA-256 when the
    orchestrator records one), `If-None-Match` and single `Range` requests."""
    artifact_id = f"{job_id}:{path}"
    known = job_artifacts(await client.get(job_id, metadata)).get(artifact_id)
    try:
        download = await open_download(client, artifact_id, 0, metadata)
    except grpc.RpcError as err:
        if rpc_code(err) == grpc.StatusCode.NOT_FOUND:
            raise ApiProblem(404, f"no artifact {path!r} in job {job_id}") from None
        raise
    etag = _etag(artifact_id, download.total, known.sha256 if known else "")
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
    kind = media_type(path, known.media_type if known else "")
    if etag in _tags(request.headers.get("if-none-match", "")):
        download.close()
        return Response(status_code=304, headers=headers)
    span = _wanted_range(request, etag, download.total)
    if span is None:
        headers["Content-Length"] = str(download.total)
        return StreamingResponse(
            download.body(download.total - 1), media_type=kind, headers=headers
        )
    first, last = span
    if first >= len(download.first):
        download.close()
        download = await open_download(client, artifact_id, first, metadata)
    else:
        download.first, download.start = download.first[first:], first
    headers["Content-Range"] = f"bytes {first}-{last}/{download.total}"
    headers["Content-Length"] = str(last - first + 1)
    return StreamingResponse(download.body(last), 206, headers=headers, media_type=kind)


def _wanted_range(request: Request, etag: str, total: int) -> tuple[int, int] | None:
    header = request.headers.get("range", "")
    if_range = request.headers.get("if-range", "")
    if not header or (if_range and if_range != etag):
        return None
    try:
        return parse_range(header, total)
    except ValueError:
        raise ApiProblem(
            416, f"range {header!r} not satisfiable", headers={"Content-Range": f"bytes */{total}"}
        ) from None


def _etag(artifact_id: str, total: int, sha256: str) -> str:
    if sha256:
        return f'"{sha256}"'
    # Artifacts are never overwritten (only manifest.json is replaced, and grows): id + size.
    digest = hashlib.sha256(f"{artifact_id}:{total}".encode()).hexdigest()[:20]
    return f'W/"{digest}"'


def _tags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}
