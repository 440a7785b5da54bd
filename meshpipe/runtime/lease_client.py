"""The stage side of GPU leases: a LeaseHook that holds its lease over the arbiter's Hold
stream (docs/design.md §Leases).

* acquire: opens the stream on first use, asks, and waits for Granted or Denied (raised as
  the matching typed error); a cancelled wait withdraws the request.
* heartbeats carry the stage's usage (busy, idle seconds, device bytes); each is
  acknowledged. The lease counts as valid until half the arbiter's TTL after the send time
  of the last acknowledged heartbeat: past that, or when the stream breaks, the lease is
  lost and the listener (ModelRunner) parks the model, leaving the arbiter's other half of
  the TTL for the park before it re-grants the memory.
* reclaim requests are handed to the listener, which parks when idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TypeAlias

import grpc

from meshpipe.errors import (
    Cancelled,
    FailedPrecondition,
    InvalidInput,
    MeshpipeError,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from meshpipe.runtime.lease import ContextReclaimListener, LeaseListener
from meshpipe.runtime.security import SecuritySettings
from meshpipe.runtime.settings import StageSettings
from meshpipe.runtime.tasks import cancel_and_wait
from meshpipe.v1 import arbiter_pb2, arbiter_pb2_grpc

log = logging.getLogger(__name__)

_DENIALS: dict[str, type[MeshpipeError]] = {
    "RESOURCE_EXHAUSTED": ResourceExhausted,
    "FAILED_PRECONDITION": FailedPrecondition,
    "INVALID_ARGUMENT": InvalidInput,
    "CANCELLED": Cancelled,
    "NOT_FOUND": NotFound,
}
_Call: TypeAlias = grpc.aio.StreamStreamCall


class GrpcLease:
    """One stage process's lease on one device, held over a Hold stream."""

    def __init__(
        self,
        address: str,
        stage: str,
        *,
        holder_id: str | None = None,
        device_index: int = 0,
        priority: int = 0,
        heartbeat_seconds: float = 1.0,
        max_wait_seconds: float = 0.0,
        can_release_context: bool = False,
        connect_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        security: SecuritySettings | None = None,
    ) -> None:
        self.address = address
        self._security = security or SecuritySettings()
        self.stage = stage
        self.holder_id = holder_id or f"{stage}-{socket.gethostname()}-{os.getpid()}"
        self.device_index = device_index
        self.priority = priority
        self.heartbeat_seconds = heartbeat_seconds
        self.max_wait_seconds = max_wait_seconds
        self.can_release_context = can_release_context
        self.connect_timeout = connect_timeout
        self._clock = clock
        self._listener: LeaseListener | None = None
        self._channel: grpc.aio.Channel | None = None
        self._call: _Call | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._open_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._pending: asyncio.Future[arbiter_pb2.HoldGranted] | None = None
        self._held = False
        self._ttl = 0.0
        self._valid_until = 0.0
        self._sent: dict[int, float] = {}
        self._seq = 0

    @classmethod
    def from_settings(cls, settings: StageSettings, stage: str) -> GrpcLease:
        return cls(
            settings.arbiter_address,
            stage,
            device_index=settings.device_index,
            priority=settings.lease_priority,
            heartbeat_seconds=settings.lease_heartbeat_seconds,
            max_wait_seconds=settings.lease_max_wait_seconds,
            security=settings,
            can_release_context=settings.worker_mode == "subprocess",
        )

    def attach(self, listener: LeaseListener) -> None:
        """Who reports usage and reacts to reclaim requests and lost leases."""
        self._listener = listener

    @property
    def held(self) -> bool:
        return self._held

    # ------------------------------------------------------------------ LeaseHook
    async def acquire(self, nbytes: int) -> None:
        """Wait for a grant of `nbytes` (plus the context, which the arbiter adds)."""
        if nbytes <= 0:
            return  # nothing goes on a device: no lease needed
        if self._held:
            raise FailedPrecondition(f"{self.holder_id} already holds a lease")
        await self._ensure_open()
        self._pending = asyncio.get_running_loop().create_future()
        acquire = arbiter_pb2.HoldAcquire(
            model_bytes=nbytes, priority=self.priority, max_wait_seconds=self.max_wait_seconds
        )
        try:
            await self._send(arbiter_pb2.HoldRequest(acquire=acquire))
            granted = await self._pending
        except asyncio.CancelledError:
            await self._withdraw()
            raise
        finally:
            self._pending = None
        self._held = True
        self._valid_until = self._clock() + self._ttl / 2
        log.info(
            "%s: GPU lease granted (%.2f GiB model + %.2f GiB context) after %.2fs",
            self.holder_id,
            granted.model_bytes / (1 << 30),
            granted.context_bytes / (1 << 30),
            granted.waited_seconds,
        )

    async def release(self) -> None:
        if not self._held:
            return
        self._held = False
        await self._send_quietly(arbiter_pb2.HoldRequest(release=arbiter_pb2.HoldRelease()))

    async def release_context(self) -> None:
        """Give the lease back (if held) and have the arbiter stop charging the process's
        context, also when no lease is held (a parked worker-mode model going COLD). Only
        for a holder that declared `can_release_context`; else a plain release."""
        if not self.can_release_context:
            await self.release()
            return
        self._held = False
        release = arbiter_pb2.HoldRelease(context_released=True)
        await self._send_quietly(arbiter_pb2.HoldRequest(release=release))

    async def report_peak(self, nbytes: int) -> None:
        if nbytes > 0 and self._call is not None:
            peak = arbiter_pb2.HoldReportPeak(model_peak_bytes=nbytes)
            await self._send_quietly(arbiter_pb2.HoldRequest(report_peak=peak))

    async def close(self) -> None:
        """End the session (the arbiter frees whatever is still charged to this holder)."""
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        if self._call is not None:
            self._call.cancel()
            self._call = None
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
        self._held = False

    # ------------------------------------------------------------------ stream
    async def _ensure_open(self) -> None:
        async with self._open_lock:
            if self._call is None:
                await self._open()

    async def _open(self) -> None:
        await self.close()
        self._channel = self._security.internal_channel(self.address)
        call: _Call = arbiter_pb2_grpc.ArbiterStub(self._channel).Hold()
        hello = arbiter_pb2.HoldOpen(
            stage=self.stage,
            holder_id=self.holder_id,
            device_index=self.device_index,
            pid=os.getpid(),
            can_release_context=self.can_release_context,
        )
        try:
            await asyncio.wait_for(
                call.write(arbiter_pb2.HoldRequest(open=hello)), self.connect_timeout
            )
            first = await asyncio.wait_for(call.read(), self.connect_timeout)
        except (grpc.aio.AioRpcError, TimeoutError) as exc:
            call.cancel()
            raise Unavailable(f"GPU lease arbiter at {self.address}: {_describe(exc)}") from None
        if not isinstance(first, arbiter_pb2.HoldResponse) or first.WhichOneof("kind") != "opened":
            call.cancel()
            raise Unavailable(f"GPU lease arbiter at {self.address} did not open the session")
        self._call = call
        self._ttl = first.opened.ttl_seconds
        interval = min(self.heartbeat_seconds, first.opened.heartbeat_seconds or self._ttl / 3)
        self._tasks = [
            asyncio.create_task(self._read_loop(call), name="lease-reader"),
            asyncio.create_task(self._heartbeat_loop(call, interval), name="lease-heartbeat"),
        ]

    async def _send(self, request: arbiter_pb2.HoldRequest) -> None:
        call = self._call
        if call is None:
            raise Unavailable(f"no lease stream to the arbiter at {self.address}")
        try:
            async with self._write_lock:
                await call.write(request)
        except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError) as exc:
            raise Unavailable(f"lease stream to {self.address} broke: {_describe(exc)}") from None

    async def _send_quietly(self, request: arbiter_pb2.HoldRequest) -> None:
        """Best effort: a broken stream already ended the session at the arbiter."""
        with contextlib.suppress(Unavailable):
            await self._send(request)

    async def _withdraw(self) -> None:
        self._held = False
        await self._send_quietly(arbiter_pb2.HoldRequest(release=arbiter_pb2.HoldRelease()))

    async def _read_loop(self, call: _Call) -> None:
        reason = "the arbiter closed the lease stream"
        try:
            while True:
                message = await call.read()
                if message is grpc.aio.EOF:
                    break
                assert isinstance(message, arbiter_pb2.HoldResponse)
                self._on_message(message)
        except grpc.aio.AioRpcError as exc:
            reason = f"lease stream broke: {_describe(exc)}"
        finally:
            if self._call is call:
                self._on_broken(reason)

    def _on_message(self, message: arbiter_pb2.HoldResponse) -> None:
        kind = message.WhichOneof("kind")
        if kind == "granted":
            self._resolve(result=message.granted)
        elif kind == "denied":
            d = message.denied
            error = _DENIALS.get(d.code, Unavailable)(f"GPU lease refused: {d.message}")
            self._resolve(error=error)
        elif kind == "queued":
            log.info("%s: waiting for a GPU lease (queue position %d)", self.holder_id,
                     message.queued.position)  # fmt: skip
        elif kind == "reclaim" and self._listener is not None:
            r = message.reclaim
            if r.release_context and isinstance(self._listener, ContextReclaimListener):
                self._listener.on_reclaim_context(r.min_residency_seconds, r.timeout_seconds)
            else:
                self._listener.on_reclaim(r.min_residency_seconds, r.timeout_seconds)
        elif kind == "released" and message.released.reason != "released":
            self._lose(f"the arbiter ended the session ({message.released.reason})")
        elif kind == "heartbeat_ack":
            self._on_ack(message.heartbeat_ack)

    def _on_ack(self, ack: arbiter_pb2.HoldHeartbeatAck) -> None:
        sent = self._sent.pop(ack.sequence, None)
        if sent is None or not self._held:
            return
        if not ack.lease_held:
            self._lose("the arbiter no longer counts this lease")
        else:
            self._valid_until = max(self._valid_until, sent + self._ttl / 2)

    def _resolve(
        self, result: arbiter_pb2.HoldGranted | None = None, error: Exception | None = None
    ) -> None:
        pending = self._pending
        if pending is None or pending.done():
            return
        if error is not None:
            pending.set_exception(error)
        elif result is not None:
            pending.set_result(result)

    def _on_broken(self, reason: str) -> None:
        self._call = None
        self._resolve(error=Unavailable(f"GPU lease arbiter at {self.address}: {reason}"))
        self._lose(reason)
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()

    def _lose(self, reason: str) -> None:
        if not self._held:
            return
        self._held = False
        log.warning("%s: GPU lease lost (%s); stopping use of the device", self.holder_id, reason)
        if self._listener is not None:
            self._listener.on_lease_lost()

    async def _heartbeat_loop(self, call: _Call, interval: float) -> None:
        while self._call is call:
            await asyncio.sleep(interval)
            now = self._clock()
            if self._held and now > self._valid_until:
                self._lose(f"no heartbeat acknowledged within {self._ttl / 2:.1f}s")
                await self._send_quietly(arbiter_pb2.HoldRequest(release=arbiter_pb2.HoldRelease()))
            usage = self._listener.lease_usage() if self._listener else None
            self._seq += 1
            self._sent = {s: t for s, t in self._sent.items() if now - t < 2 * self._ttl}
            self._sent[self._seq] = now
            heartbeat = arbiter_pb2.HoldHeartbeat(
                sequence=self._seq,
                busy=usage.busy if usage else False,
                idle_seconds=usage.idle_seconds if usage else 0.0,
                device_bytes=usage.device_bytes if usage else 0,
            )
            await self._send_quietly(arbiter_pb2.HoldRequest(heartbeat=heartbeat))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    return type(exc).__name__
