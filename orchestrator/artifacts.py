"""Per-job artifact folders: atomic, never-overwriting writes and chunked reads.

Layout of `<output_dir>/<job_id>/`: input.<ext>, crops/, mattes/, meshes/, textured/,
previews/, exports/, scene.glb, contact_sheet.png, manifest.json (docs/orchestrator.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

from meshpipe.errors import NotFound
from orchestrator.domain import Artifact
from orchestrator.ids import artifact_id, check_job_id

CHUNK_BYTES = 1024 * 1024
MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".glb": "model/gltf-binary",
    ".json": "application/json",
    ".zip": "application/zip",
    ".stl": "model/stl",
    ".ply": "application/x-ply",
}


class ArtifactStore:
    """Files of every job under one root folder. Blocking methods: call them off the loop."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def job_dir(self, job_id: str) -> Path:
        """The folder of a job."""
        return self.root / check_job_id(job_id)

    def path(self, job_id: str, relative_path: str) -> Path:
        """Absolute path of a job's file; refuses anything that would leave the job's folder."""
        rel = PurePosixPath(relative_path)
        if rel.is_absolute() or not rel.parts or any(p in ("..", ".", "") for p in rel.parts):
            raise NotFound(f"no artifact {relative_path!r}")
        base = self.job_dir(job_id).resolve()
        target = (base / rel).resolve()
        if not target.is_relative_to(base):
            raise NotFound(f"no artifact {relative_path!r}")
        return target

    def write(
        self, job_id: str, relative_path: str, data: bytes, kind: str, *, replace: bool = False
    ) -> Artifact:
        """Write a file atomically (temp file + fsync + link/rename).

        An existing file is never overwritten unless `replace`: the new one gets a free name
        (`name.r1.ext`, ...), and the returned Artifact says which.
        """
        target = self.path(job_id, relative_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            final = tmp.replace(target) if replace else _link_free_name(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        rel = final.relative_to(self.job_dir(job_id).resolve()).as_posix()
        return Artifact(
            artifact_id=artifact_id(job_id, rel),
            kind=kind,
            relative_path=rel,
            size_bytes=len(data),
            media_type=MEDIA_TYPES.get(final.suffix, "application/octet-stream"),
        )

    def read(self, job_id: str, relative_path: str) -> bytes:
        """A job's file, whole."""
        return self.path(job_id, relative_path).read_bytes()


def _link_free_name(tmp: Path, target: Path) -> Path:
    candidate = target
    for n in range(1, 1000):
        try:
            os.link(tmp, candidate)
            return candidate
        except FileExistsError:
            candidate = target.with_name(f"{target.stem}.r{n}{target.suffix}")
    raise FileExistsError(f"no free name for {target}")


async def stream_chunks(
    path: Path, chunk_bytes: int = CHUNK_BYTES
) -> AsyncIterator[tuple[int, bytes, int]]:
    """(offset, data, total size) pieces of a file, read off the event loop."""
    try:
        f = await asyncio.to_thread(open, path, "rb")
    except FileNotFoundError:
        raise NotFound(f"artifact file {path.name} is gone from the output folder") from None
    try:
        total = os.fstat(f.fileno()).st_size
        if total == 0:
            yield 0, b"", 0
        offset = 0
        while offset < total:
            data = await asyncio.to_thread(f.read, min(chunk_bytes, total - offset))
            if not data:
                raise NotFound(f"artifact file {path.name} shrank while being read")
            yield offset, data, total
            offset += len(data)
    finally:
        f.close()
