"""Per-job artifact folders: atomic, never-overwriting writes and chunked reads.

Layout of `<output_dir>/<job_id>/`: input.<ext>, crops/, mattes/, meshes/, textured/,
previews/, exports/, scene.glb, contact_sheet.png, manifest.json (docs/orchestrator.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import shutil
import stat
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from meshpipe.errors import InvalidInput, NotFound
from orchestrator.disk import check_write, disk_full_error, is_disk_full
from orchestrator.domain import Artifact
from orchestrator.ids import artifact_id, check_job_id

CHUNK_BYTES = 1024 * 1024
MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".heic": "image/heic",
    ".glb": "model/gltf-binary",
    ".json": "application/json",
    ".zip": "application/zip",
    ".stl": "model/stl",
    ".ply": "application/x-ply",
}


class ArtifactStore:
    """Files of every job under one root folder. Blocking methods: call them off the loop."""

    def __init__(self, root: Path, reserve_bytes: int = 0) -> None:
        self.root = root
        self.reserve_bytes = reserve_bytes

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
        self,
        job_id: str,
        relative_path: str,
        data: bytes,
        kind: str,
        *,
        replace: bool = False,
        essential: bool = False,
    ) -> Artifact:
        """Write a file atomically (temp file + fsync + link/rename).

        An existing file is never overwritten unless `replace`: the new one gets a free name
        (`name.r1.ext`, ...), and the returned Artifact says which. Only `essential` writes
        (the manifest) may use the space reserved for bookkeeping; a full volume is DiskFull,
        and no temporary file is ever left behind.
        """
        target = self.path(job_id, relative_path)
        if not essential:
            check_write(self.root, len(data), self.reserve_bytes)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            final = _write_atomically(target, data, replace)
        except OSError as exc:
            if is_disk_full(exc):
                raise disk_full_error(self.root, len(data), exc) from exc
            raise
        rel = final.relative_to(self.job_dir(job_id).resolve()).as_posix()
        return Artifact(
            artifact_id=artifact_id(job_id, rel),
            kind=kind,
            relative_path=rel,
            size_bytes=len(data),
            media_type=MEDIA_TYPES.get(final.suffix, "application/octet-stream"),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    def remove_job(self, job_id: str) -> int:
        """Delete a job's folder; the bytes it held (0 if it was gone)."""
        folder = self.job_dir(job_id)
        if not folder.is_dir():
            return 0
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        shutil.rmtree(folder)
        return size

    def read(self, job_id: str, relative_path: str) -> bytes:
        """A job's file, whole."""
        return self.path(job_id, relative_path).read_bytes()


def _write_atomically(target: Path, data: bytes, replace: bool) -> Path:
    tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return tmp.replace(target) if replace else _link_free_name(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _link_free_name(tmp: Path, target: Path) -> Path:
    candidate = target
    for n in range(1, 1000):
        try:
            os.link(tmp, candidate)
            return candidate
        except FileExistsError:
            candidate = target.with_name(f"{target.stem}.r{n}{target.suffix}")
    raise FileExistsError(f"no free name for {target}")


def open_verified(path: Path, artifact: Artifact) -> BinaryIO:
    """Open an artifact's file for reading only if it is still what the store recorded: a
    regular file (not a symlink), one link, the recorded size and SHA-256. Anything else
    (a planted link, a replaced or damaged file) is NOT_FOUND."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        raise NotFound(
            f"artifact {artifact.relative_path} is gone from the output folder"
        ) from None
    f = os.fdopen(fd, "rb")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size != artifact.size_bytes:
            raise NotFound(f"artifact {artifact.relative_path} is not the file that was recorded")
        if artifact.sha256:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
            if digest != artifact.sha256:
                raise NotFound(f"artifact {artifact.relative_path} does not match its sha256")
            f.seek(0)
    except BaseException:
        f.close()
        raise
    return f


async def stream_chunks(
    f: BinaryIO, offset: int = 0, chunk_bytes: int = CHUNK_BYTES
) -> AsyncIterator[tuple[int, bytes, int]]:
    """(offset, data, total size) pieces of an open file from `offset` on, read off the
    event loop; the file is closed at the end."""
    try:
        total = os.fstat(f.fileno()).st_size
        if offset > total:
            raise InvalidInput(f"offset {offset} is past the end ({total} bytes)", "offset")
        if total == 0 or offset == total:
            yield offset, b"", total
        await asyncio.to_thread(f.seek, offset)
        while offset < total:
            data = await asyncio.to_thread(f.read, min(chunk_bytes, total - offset))
            if not data:
                raise NotFound("artifact file shrank while being read")
            yield offset, data, total
            offset += len(data)
    finally:
        f.close()
