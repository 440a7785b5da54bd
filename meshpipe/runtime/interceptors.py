"""The one server interceptor of every meshpipe process.

For every call it: takes the `x-request-id` (or makes one) and returns it in the trailing
metadata; asks the server's `Gate` who the caller is (authentication is enforced here and
nowhere else); turns an undecodable request into INVALID_ARGUMENT; and applies the error
table of meshpipe.errors, with google.rpc.Status details (BadRequest, RetryInfo) attached
through grpcio-status. Handlers may be coroutines, async generators, or coroutines that
stream with `context.write` (grpc.health.v1's Watch).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from meshpipe.errors import (
    MAX_MESSAGE_CHARS,
    InvalidInput,
    ResourceExhausted,
    to_status,
)
from meshpipe.runtime import callctx
from meshpipe.runtime.auth import Gate, InternalGate

log = logging.getLogger(__name__)
_MALFORMED = object()


def rich_status(exc: BaseException) -> tuple[grpc.StatusCode, str, tuple[Any, ...], bool]:
    """(code, message, trailing metadata carrying google.rpc.Status, expected) of `exc`."""
    code, message, expected = to_status(exc)
    message = message[:MAX_MESSAGE_CHARS]
    details: list[any_pb2.Any] = []
    if isinstance(exc, InvalidInput) and exc.field:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=exc.field, description=message
        )
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[violation])))
    if isinstance(exc, ResourceExhausted) and exc.retry_after > 0:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(exc.retry_after * 1e9))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=code.value[0], message=message, details=details)
    return code, message, tuple(rpc_status.to_status(status).trailing_metadata), expected


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


async def _abort(context: grpc.aio.ServicerContext, method: str, exc: Exception) -> None:
    code, message, trailing, expected = rich_status(exc)
    if expected:
        log.info("%s -> %s: %s", method, code.name, message)
    else:
        log.error("%s -> INTERNAL (%s)", method, message, exc_info=exc)
    context.set_trailing_metadata((*_request_id_metadata(), *trailing))
    await context.abort(code, message)


def _request_id_metadata() -> tuple[tuple[str, str], ...]:
    return ((callctx.REQUEST_ID_HEADER, callctx.current_request_id()),)


def _enter(context: grpc.aio.ServicerContext, method: str, gate: Gate) -> None:
    """Set the call's request id and principal (raises when the gate refuses)."""
    metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
    rid = callctx.accept_request_id(metadata.get(callctx.REQUEST_ID_HEADER))
    callctx.request_id_var.set(rid)
    context.set_trailing_metadata(_request_id_metadata())
    callctx.principal_var.set(gate.authorize(method, metadata))


def _check(request: Any, method: str) -> None:
    if request is _MALFORMED:
        raise InvalidInput(f"malformed request: not a valid message for {method}")


def _safe(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """A deserializer that returns a marker for undecodable bytes instead of raising (gRPC
    would answer UNKNOWN/INTERNAL); the wrapped handler turns it into INVALID_ARGUMENT."""
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:
            return _MALFORMED

    return deserialize


class ServerCallInterceptor(grpc.aio.ServerInterceptor):
    """Request ids, authentication, malformed requests and the error table, for every RPC."""

    def __init__(self, gate: Gate | None = None) -> None:
        self.gate: Gate = gate or InternalGate(None)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method, gate = handler_call_details.method, self.gate
        deserializer = _safe(handler.request_deserializer)
        serializer = handler.response_serializer
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary, method, gate), deserializer, serializer
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(handler.unary_stream, method, gate, True), deserializer, serializer
            )
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                _wrap_stream(handler.stream_stream, method, gate, False),
                handler.request_deserializer,
                serializer,
            )
        return handler


# Kept for callers of the earlier name.
ErrorMappingInterceptor = ServerCallInterceptor


def _wrap_unary(
    behavior: Callable[..., Any], method: str, gate: Gate
) -> Callable[..., Awaitable[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            _enter(context, method, gate)
            _check(request, method)
            return await behavior(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(context, method, exc)

    return wrapper


def _wrap_stream(
    behavior: Callable[..., Any], method: str, gate: Gate, unary_request: bool
) -> Callable[..., Any]:
    if not inspect.isasyncgenfunction(behavior):  # streams with context.write

        async def writer(request: Any, context: grpc.aio.ServicerContext) -> None:
            try:
                _enter(context, method, gate)
                if unary_request:
                    _check(request, method)
                await behavior(request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await _abort(context, method, exc)

        return writer

    async def generator(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            _enter(context, method, gate)
            if unary_request:
                _check(request, method)
            async for item in behavior(request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(context, method, exc)

    return generator
