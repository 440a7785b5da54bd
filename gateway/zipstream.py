"""A job's files as a zip written while they stream in (zipfile on an unseekable buffer:
entries use data descriptors; GLB/PNG are already compressed, so entries are stored)."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import AsyncIterator, Mapping
from typing import IO, cast

import grpc

from gateway.artifacts import manifest_artifact_ids, open_download, read_all
from gateway.client import Metadata, Orchestrator
from meshpipe.v1 import orchestrator_pb2 as pb

log = logging.getLogger(__name__)


class _Sink:
    """A write-only file zipfile writes into; the bytes are taken out as they come."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._written = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


async def stream_archive(
    client: Orchestrator, job_id: str, known: Mapping[str, pb.Artifact], metadata: Metadata
) -> AsyncIterator[bytes]:
    """The zip's bytes: the manifest's files (input included) and every object's files."""
    ids = dict.fromkeys(known)
    manifest_id = f"{job_id}:manifest.json"
    try:
        manifest = await read_all(client, manifest_id, metadata)
        ids.update(dict.fromkeys([*manifest_artifact_ids(manifest), manifest_id]))
    except grpc.RpcError:
        log.info("job %s has no manifest yet; archiving its objects' files", job_id)
    sink = _Sink()
    with zipfile.ZipFile(cast(IO[bytes], sink), "w", compression=zipfile.ZIP_STORED) as archive:
        for artifact_id in ids:
            if not artifact_id.startswith(f"{job_id}:"):
                continue
            name = f"{job_id}/{artifact_id.split(':', 1)[1]}"
            try:
                download = await open_download(client, artifact_id, 0, metadata)
            except grpc.RpcError:
                continue  # named but not (or no longer) downloadable
            with archive.open(name, "w", force_zip64=download.total > 2**31) as entry:
                async for piece in download.body(download.total - 1):
                    entry.write(piece)
                    yield sink.take()
            yield sink.take()
    yield sink.take()
