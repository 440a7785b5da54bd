"""Typed errors and the one table that maps them to gRPC status codes (docs/design.md §Processes and protocol)."""

from __future__ import annotations

import uuid

import grpc

PREVIEW_CHARS = 40  # most characters of a client's value that a message ever repeats
MAX_MESSAGE_CHARS = 1000  # longest message a caller is sent


def preview(value: str, max_chars: int = PREVIEW_CHARS) -> str:
    """A short, quoted, printable prefix of a client-supplied value for messages and logs."""
    if len(value) <= max_chars:
        return repr(value)
    return f"{value[:max_chars]!r}... ({len(value)} characters)"


class ConfigurationError(Exception):
    """A process cannot start with its settings (an unauthenticated public bind, a missing
    certificate, a malformed token file...). The CLI prints it as one line."""


class MeshpipeError(Exception):
    """Base of every error meshpipe reports to a caller; the message is shown to the caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL


class InvalidInput(MeshpipeError):
    """The request itself is wrong (bad image, option out of range...). `field` names the
    request field at fault (sent as a google.rpc.BadRequest field violation)."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class Unauthenticated(MeshpipeError):
    """No credentials, or credentials that name nobody."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(MeshpipeError):
    """Valid credentials that do not allow this call (e.g. a client token on an internal
    service)."""

    code = grpc.StatusCode.PERMISSION_DENIED


class NotFound(MeshpipeError):
    """A job or artifact id that does not exist."""

    code = grpc.StatusCode.NOT_FOUND


class Unavailable(MeshpipeError):
    """Retryable: a model is loading or draining, a stage is down."""

    code = grpc.StatusCode.UNAVAILABLE


class ResourceExhausted(MeshpipeError):
    """Over a queue bound, over the VRAM budget, or out of device memory. `retry_after`
    (seconds, when > 0) is sent as a google.rpc.RetryInfo."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DiskFull(ResourceExhausted):
    """The output volume is (nearly) full: the message gives the free and needed bytes."""


class FailedPrecondition(MeshpipeError):
    """The system is not in a state that allows the request (missing weights, busy model...)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class DeadlineExceeded(MeshpipeError):
    """The request's deadline passed."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Cancelled(MeshpipeError):
    """The work was cancelled by a client."""

    code = grpc.StatusCode.CANCELLED


# Exceptions from libraries, matched by class name so that no heavy import is needed here.
_FOREIGN_BY_NAME: dict[str, grpc.StatusCode] = {
    "OutOfMemoryError": grpc.StatusCode.RESOURCE_EXHAUSTED,  # torch.cuda.OutOfMemoryError
    "DecompressionBombError": grpc.StatusCode.INVALID_ARGUMENT,  # PIL
}


def to_status(exc: BaseException) -> tuple[grpc.StatusCode, str, bool]:
    """Map an exception to (status code, caller-facing message, expected).

    `expected` is False for unexpected errors: their message is generic and carries a
    reference id; the caller logs the traceback under that id.
    """
    if isinstance(exc, MeshpipeError):
        return exc.code, str(exc), True
    if isinstance(exc, MemoryError):
        return grpc.StatusCode.RESOURCE_EXHAUSTED, "out of host memory", True
    for klass in type(exc).__mro__:
        code = _FOREIGN_BY_NAME.get(klass.__name__)
        if code is not None:
            return code, f"{klass.__name__}: {exc}", True
    ref = uuid.uuid4().hex[:12]
    return grpc.StatusCode.INTERNAL, f"internal error (server log reference {ref})", False


def from_rpc_error(err: grpc.RpcError) -> MeshpipeError:
    """Turn a stage's status back into the matching typed error (used by the orchestrator)."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else str(err)
    return from_code(code, details)


def from_code(code: grpc.StatusCode, details: str) -> MeshpipeError:
    """The typed error for a status code and its message (e.g. one item of a batch reply)."""
    for klass in (
        InvalidInput,
        NotFound,
        Unauthenticated,
        PermissionDenied,
        Unavailable,
        ResourceExhausted,
        FailedPrecondition,
        DeadlineExceeded,
        Cancelled,
    ):
        if klass.code == code:
            return klass(details or code.name)
    error = MeshpipeError(details or code.name)
    error.code = code if code != grpc.StatusCode.UNKNOWN else grpc.StatusCode.INTERNAL
    return error
