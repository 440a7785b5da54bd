"""Job and artifact ids: sortable, human-readable, and never usable as a path."""

from __future__ import annotations

import re
import secrets
import time

from meshpipe.errors import NotFound, preview

# 32 hex digits (128 random bits) since ids must not be guessable; 6 in earlier versions.
_JOB_ID = re.compile(r"^\d{8}-\d{6}-(?:[0-9a-f]{32}|[0-9a-f]{6})$")
_LABEL_CHARS = re.compile(r"[^a-z0-9]+")


def new_job_id(now: float | None = None) -> str:
    """`YYYYMMDD-HHMMSS-<32 hex>` (UTC time of submission + 128 random bits from
    `secrets`): sorts by time, cannot be guessed."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(16)}"


def check_job_id(job_id: str) -> str:
    """Return `job_id` if it is well-formed, else raise NotFound (it cannot name a job)."""
    if not _JOB_ID.fullmatch(job_id):
        raise NotFound(f"no job {preview(job_id)} (job ids look like 20260101-120000-<32 hex>)")
    return job_id


def artifact_id(job_id: str, relative_path: str) -> str:
    """The id under which an artifact is registered in the job store.

    Downloads look the id up in the store; the id itself is never turned into a path.
    """
    return f"{job_id}:{relative_path}"


def slug(label: str, max_chars: int = 32) -> str:
    """A file-name-safe form of a label ("Coffee mug!" -> "coffee-mug")."""
    cleaned = _LABEL_CHARS.sub("-", label.lower()).strip("-")
    return cleaned[:max_chars].rstrip("-") or "object"
