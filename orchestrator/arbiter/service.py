"""Arbiter gRPC servicer: each Hold stream is one LeaseSession; GetLedger reads a snapshot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

import grpc

from meshpipe.errors import InvalidInput, NotFound
from meshpipe.v1 import arbiter_pb2, arbiter_pb2_grpc
from orchestrator.arbiter.arbiter import Arbiter, LeaseSession
from orchestrator.arbiter.convert import ledger_pb, opened_pb, outgoing_pb


class ArbiterServicer(arbiter_pb2_grpc.ArbiterServicer):
    """Serves the arbiters of one or more devices (keyed by GPU index)."""

    def __init__(self, arbiters: Mapping[int, Arbiter]) -> None:
        self._arbiters = dict(arbiters)

    def _arbiter(self, device_index: int) -> Arbiter:
        arbiter = self._arbiters.get(device_index)
        if arbiter is None:
            known = ", ".join(str(i) for i in sorted(self._arbiters)) or "none"
            raise NotFound(f"no arbiter for device {device_index} (devices: {known})")
        return arbiter

    async def Hold(
        self,
        request_iterator: AsyncIterator[arbiter_pb2.HoldRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[arbiter_pb2.HoldResponse]:
        requests = aiter(request_iterator)
        first = await anext(requests, None)
        if first is None or first.WhichOneof("kind") != "open":
            raise InvalidInput("the first message of a Hold stream must be `open`")
        arbiter = self._arbiter(first.open.device_index)
        o = first.open
        session = arbiter.connect(o.holder_id, o.stage, o.pid, o.can_release_context)
        reader = asyncio.create_task(_read(requests, session))
        try:
            yield opened_pb(arbiter.config, arbiter.core.budget)
            async for response in _responses(session, reader):
                yield response
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            session.close()

    async def GetLedger(
        self, request: arbiter_pb2.GetLedgerRequest, context: grpc.aio.ServicerContext
    ) -> arbiter_pb2.GetLedgerResponse:
        arbiter = self._arbiter(request.device_index)
        reading = await arbiter.check_truth()
        return ledger_pb(arbiter.snapshot(), reading, arbiter.config)


async def _read(requests: AsyncIterator[arbiter_pb2.HoldRequest], session: LeaseSession) -> None:
    """Apply the holder's messages until it half-closes the stream."""
    async for req in requests:
        kind = req.WhichOneof("kind")
        if kind == "acquire":
            a = req.acquire
            session.acquire(a.model_bytes, a.priority, a.max_wait_seconds)
        elif kind == "release":
            session.release(req.release.context_released)
        elif kind == "heartbeat":
            hb = req.heartbeat
            session.heartbeat(hb.sequence, hb.busy, hb.idle_seconds, hb.device_bytes)
        elif kind == "report_peak":
            session.report_peak(req.report_peak.model_peak_bytes)
        else:
            raise InvalidInput(f"unexpected message {kind or 'empty'!r} on an open Hold stream")


async def _responses(
    session: LeaseSession, reader: asyncio.Task[None]
) -> AsyncIterator[arbiter_pb2.HoldResponse]:
    """Forward the session's outbox until the session ends or the holder stops sending."""
    while True:
        getter = asyncio.ensure_future(session.outbox.get())
        done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            reader.result()  # re-raise the reader's error, if any (mapped by the interceptor)
            return
        response = outgoing_pb(getter.result())
        if response is not None:
            yield response
        if session.closed and session.outbox.empty():
            return


def add_arbiter_service(server: grpc.aio.Server, arbiters: Mapping[int, Arbiter]) -> None:
    """Serve `arbiters` on an existing server (e.g. the orchestrator's)."""
    arbiter_pb2_grpc.add_ArbiterServicer_to_server(ArbiterServicer(arbiters), server)
