"""Typed errors and the one table that maps them to gRPC status codes (DESIGN section 3)."""

from __future__ import annotations

import uuid

import grpc


class MeshpipeError(Exception):
    """Base of every error meshpipe reports to a caller; the message is shown to the caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL


class InvalidInput(MeshpipeError):
    """The request itself is wrong (bad image, option out of range...)."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(MeshpipeError):
    """A job or artifact id that does not exist."""

    code = grpc.StatusCode.NOT_FOUND


class Unavailable(MeshpipeError):
    """Retryable: a model is loading or draining, a stage is down."""

    code = grpc.StatusCode.UNAVAILABLE


class ResourceExhausted(MeshpipeError):
    """Over a queue bound, over the VRAM budget, or out of device memory."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


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
