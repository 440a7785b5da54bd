"""ListJobs page tokens: an opaque, url-safe encoding of the (created_at, job_id) cursor of
the last job of a page. A token that does not decode is INVALID_ARGUMENT."""

from __future__ import annotations

import base64
import binascii
import json

from meshpipe.errors import InvalidInput
from orchestrator.ids import check_job_id

MAX_TOKEN_CHARS = 256


def encode_token(created_at: float, job_id: str) -> str:
    """The token of the page after the job (created_at, job_id)."""
    raw = json.dumps([created_at, job_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[float, str] | None:
    """The cursor of a page token; None for the empty token (the first page)."""
    if not token:
        return None
    bad = InvalidInput("page_token is not a token from a ListJobs response", "page_token")
    if len(token) > MAX_TOKEN_CHARS:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created_at, job_id = json.loads(raw)
        return float(created_at), check_job_id(str(job_id))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, Exception):
        raise bad from None
