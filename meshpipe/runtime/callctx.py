"""Per-call context: the request id and the caller's principal, as context variables.

The server interceptor sets both at the start of every call; tasks started from the call
(a job's supervisor, the stage calls it dispatches) inherit them. `RequestIdFilter` puts
the request id on every log record, so a job's log lines carry it in every process (the
orchestrator forwards it to the stages as `x-request-id` metadata).
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets

REQUEST_ID_HEADER = "x-request-id"
JOB_ID_HEADER = "x-job-id"
MAX_REQUEST_ID_CHARS = 128
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
principal_var: contextvars.ContextVar[str] = contextvars.ContextVar("principal", default="")


def new_request_id() -> str:
    """A fresh request id (128 random bits, hex)."""
    return secrets.token_hex(16)


def accept_request_id(value: str | None) -> str:
    """The client's request id if it is short and plain (letters, digits, `._:-`), else a
    fresh one: nothing unbounded or unprintable reaches a log line."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return new_request_id()


def current_request_id() -> str:
    """The request id of the call (or job) this code runs for; empty outside any."""
    return request_id_var.get()


def current_principal() -> str:
    """The authenticated caller of the current call; empty outside any call."""
    return principal_var.get()


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    """Metadata that forwards the current request id to the next service."""
    rid = request_id_var.get()
    return ((REQUEST_ID_HEADER, rid),) if rid else ()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` ("-" outside a call) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True
