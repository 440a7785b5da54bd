"""Errors as `application/problem+json` (RFC 9457), and the one table that maps the
orchestrator's gRPC status codes to HTTP statuses."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
PROBLEM_TYPE = "application/problem+json"

# gRPC status -> HTTP status. INVALID_ARGUMENT is 422 (the request was well-formed but its
# content was refused); a request the gateway cannot parse at all is 400.
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 422,
    grpc.StatusCode.OUT_OF_RANGE: 422,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
}
TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    416: "Range not satisfiable",
    422: "Invalid input",
    429: "Too many requests",
    499: "Cancelled",
    500: "Internal error",
    501: "Not implemented",
    503: "Unavailable",
    504: "Deadline exceeded",
}


class ApiProblem(Exception):
    """An HTTP error to report as problem+json; `headers` go with it (e.g. Retry-After)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        code: str = "",
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.code = code


def from_rpc_error(err: grpc.RpcError, retry_after: int = 5) -> ApiProblem:
    """The ApiProblem for an error the orchestrator returned (its message is kept)."""
    # grpc.aio's AioRpcError has code()/details() without being a grpc.Call.
    code_of, details_of = getattr(err, "code", None), getattr(err, "details", None)
    code = code_of() if callable(code_of) else grpc.StatusCode.UNKNOWN
    detail = (details_of() if callable(details_of) else "") or code.name
    status = HTTP_STATUS.get(code, 502)
    headers = {"Retry-After": str(retry_after)} if status in (429, 503) else {}
    if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
        status = 502
    return ApiProblem(status, detail, headers=headers, code=code.name)


def problem_body(request: Request, status: int, detail: str, code: str = "") -> dict[str, Any]:
    """The RFC 9457 members (plus meshpipe's `code` and `request_id` extensions)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", ""),
    }
    if code:
        body["code"] = code
    return body


def problem_response(
    request: Request,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    code: str = "",
) -> JSONResponse:
    """A problem+json response."""
    return JSONResponse(
        problem_body(request, status, detail, code),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_TYPE,
    )


def install_handlers(app: FastAPI) -> None:
    """Every error the app can raise becomes problem+json; no traceback reaches a client."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return problem_response(request, exc.status, exc.detail, dict(exc.headers), exc.code)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        detail = "; ".join(_describe(e) for e in exc.errors()) or "invalid request"
        return problem_response(request, 422, detail)

    async def on_rpc(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, grpc.RpcError)
        problem = from_rpc_error(exc)
        return problem_response(
            request, problem.status, problem.detail, problem.headers, problem.code
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.exception("unexpected error (reference %s) on %s", ref, request.url.path)
        return problem_response(request, 500, f"internal error (gateway log reference {ref})")

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(grpc.RpcError, on_rpc)
    app.add_exception_handler(Exception, on_unexpected)


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))
