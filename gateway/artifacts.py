"""Reading artifacts through the orchestrator: a download that starts at any offset (using
DownloadArtifactRequest.offset, and skipping locally when an orchestrator ignores it), the
metadata of a job's artifacts, media types and HTTP Range parsing."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc

from gateway.client import Metadata, Orchestrator
from meshpipe.v1 import orchestrator_pb2 as pb

MEDIA_TYPES = {
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    ".stl": "model/stl",
    ".ply": "application/ply",
    ".usdz": "model/vnd.usdz+zip",
    ".obj": "model/obj",
    ".zip": "application/zip",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}


def media_type(path: str, recorded: str = "") -> str:
    """The artifact's media type: the orchestrator's record, else by extension."""
    if recorded:
        return recorded
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


@dataclass
class Download:
    """An open download: the first chunk read (so the total size is known) and the rest."""

    total: int
    start: int
    first: bytes
    rest: AsyncIterator[pb.ArtifactChunk]
    call: Any

    async def body(self, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end] (inclusive), then the call is closed."""
        position = self.start
        try:
            for data in (self.first,):
                if data:
                    piece = data[: end + 1 - position]
                    position += len(piece)
                    yield piece
            async for chunk in self.rest:
                if position > end:
                    break
                skip = max(0, position - chunk.offset)
                piece = chunk.data[skip : skip + end + 1 - position]
                position += len(piece)
                if piece:
                    yield piece
        finally:
            self.close()

    def close(self) -> None:
        """End the gRPC call."""
        cancel = getattr(self.call, "cancel", None)
        if callable(cancel):
            cancel()


async def open_download(
    client: Orchestrator, artifact_id: str, start: int, metadata: Metadata
) -> Download:
    """A download positioned at byte `start` (grpc.RpcError if the artifact is unknown)."""
    call = client.download(artifact_id, start, metadata)
    chunks = aiter(call)
    async for chunk in chunks:
        if (
            chunk.offset + len(chunk.data) <= start
            and chunk.offset + len(chunk.data) < chunk.total_size
        ):
            continue  # an orchestrator that ignores `offset`: skip to `start`
        first = chunk.data[max(0, start - chunk.offset) :]
        return Download(int(chunk.total_size), start, first, chunks, call)
    return Download(0, start, b"", chunks, call)


async def read_all(client: Orchestrator, artifact_id: str, metadata: Metadata) -> bytes:
    """A whole artifact in memory (for the serverless contract's base64 and the manifest)."""
    download = await open_download(client, artifact_id, 0, metadata)
    parts = [piece async for piece in download.body(max(download.total - 1, 0))]
    return b"".join(parts)


def job_artifacts(reply: pb.GetJobResponse) -> dict[str, pb.Artifact]:
    """Every artifact GetJob names (the objects' files and their scenes), by id."""
    found: dict[str, pb.Artifact] = {}
    for result in reply.results:
        for artifact in [*result.artifacts, result.scene]:
            if artifact.artifact_id:
                found[artifact.artifact_id] = artifact
    return found


def manifest_artifact_ids(manifest: bytes) -> list[str]:
    """Artifact ids named anywhere in a manifest.json (input, objects, scene, previews)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            artifact_id = node.get("artifact_id")
            if isinstance(artifact_id, str) and artifact_id:
                found.append(artifact_id)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    try:
        walk(json.loads(manifest))
    except ValueError:
        return []
    return found


def parse_range(header: str, total: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `bytes=` range; None to send the whole file (no
    header, several ranges, or a unit other than bytes). ValueError if unsatisfiable."""
    if not header.startswith("bytes=") or "," in header:
        return None
    first_text, _, last_text = header[len("bytes=") :].strip().partition("-")
    if not (first_text.isdigit() or last_text.isdigit()):
        return None
    if not first_text:  # suffix: the last N bytes
        length = int(last_text)
        if length == 0 or total == 0:
            raise ValueError("empty suffix range")
        return max(0, total - length), total - 1
    first = int(first_text)
    last = int(last_text) if last_text.isdigit() else total - 1
    if first >= total or last < first:
        raise ValueError("range outside the file")
    return first, min(last, total - 1)


def rpc_code(err: grpc.RpcError) -> grpc.StatusCode | None:
    """The status code of a grpc (or grpc.aio) error."""
    code = getattr(err, "code", None)
    return code() if callable(code) else None
