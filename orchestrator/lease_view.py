"""What the scheduler knows about GPU leases: each stage's footprint, whether it is resident,
and whether all the stages' leases fit the budget together (docs/design.md §Leases, §Scheduling).

`lease_state` is pure (a ledger snapshot in, a `LeaseState` out); `ArbiterLeaseView` reads
the embedded arbiter's ledger; `RemoteLeaseView` polls a standalone arbiter's `GetLedger`
and serves the last ledger it got; `NoLeaseView` is used when no arbiter is visible (leases
are then the stages' business, and stages simply overlap).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import grpc

from meshpipe.runtime.security import SecuritySettings
from meshpipe.runtime.tasks import cancel_and_wait
from meshpipe.v1 import arbiter_pb2, arbiter_pb2_grpc
from orchestrator.arbiter.arbiter import Arbiter
from orchestrator.arbiter.ledger import (
    HolderView,
    LedgerSnapshot,
    lease_need,
    model_lease_bytes,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageLease:
    """One stage as the ledger shows it."""

    footprint_bytes: int = 0  # model bytes (weights + activations) of its lease; 0 = needs none
    resident: bool = False  # a holder of the stage has its model lease now
    has_context: bool = False  # a holder of the stage is already charged its context


@dataclass(frozen=True)
class LeaseState:
    """The budget and every stage's lease, at one instant."""

    budget_bytes: int = 0
    free_bytes: int = 0
    context_bytes: int = 0
    stages: Mapping[str, StageLease] = field(default_factory=dict)

    def needs_lease(self, stage: str) -> bool:
        """True when the stage's work takes device memory under a lease."""
        return self.stages.get(stage, StageLease()).footprint_bytes > 0

    def lease_bytes(self, stage: str) -> int:
        """What bringing the stage up would take from the budget (model + context if new)."""
        s = self.stages.get(stage, StageLease())
        return lease_need(s.footprint_bytes, self.context_bytes, s.has_context)

    def resident(self, stage: str) -> bool:
        return self.stages.get(stage, StageLease()).resident

    def restricted(self, names: Sequence[str]) -> LeaseState:
        """The same ledger seen by the stages `names` only (those placed on its device)."""
        stages = {k: v for k, v in self.stages.items() if k in names}
        return LeaseState(self.budget_bytes, self.free_bytes, self.context_bytes, stages)

    def all_fit(self) -> bool:
        """True when every leased stage fits on the device at once (stages may overlap)."""
        need = sum(
            lease_need(s.footprint_bytes, self.context_bytes, False) for s in self.stages.values()
        )
        return need <= self.budget_bytes or not self.budget_bytes


class LeaseView(Protocol):
    """Where the dispatcher reads the lease state from."""

    def state(self) -> LeaseState:
        """The lease state now."""
        ...


def lease_state(
    snapshot: LedgerSnapshot, context_bytes: int, estimates: Mapping[str, int]
) -> LeaseState:
    """Each stage's footprint: the larger of what its holders hold now and what the arbiter
    would grant it (`model_lease_bytes`: learned peak, else estimate); stages with none of
    these need no lease (as far as is known)."""
    names = {k for k, v in estimates.items() if v > 0} | set(snapshot.learned)
    footprints = {
        k: model_lease_bytes(snapshot.learned.get(k, 0), estimates.get(k, 0)) for k in names
    }
    resident: set[str] = set()
    contexts: set[str] = set()
    for h in snapshot.holders:
        footprints[h.stage] = max(footprints.get(h.stage, 0), h.model_bytes)
        if h.model_bytes > 0:
            resident.add(h.stage)
        if h.context_bytes > 0:
            contexts.add(h.stage)
    stages = {
        name: StageLease(nbytes, name in resident, name in contexts)
        for name, nbytes in footprints.items()
        if nbytes > 0
    }
    return LeaseState(snapshot.budget_bytes, snapshot.free_bytes, context_bytes, stages)


Reported = Callable[[], Mapping[str, int]]  # the stages' own footprints (StageFootprints)


def _no_reports() -> Mapping[str, int]:
    return {}


class ArbiterLeaseView:
    """The lease state of an arbiter in this process. `reported`: footprints the stages
    reported themselves, used where the arbiter has no estimate (its estimates and learned
    peaks win)."""

    def __init__(self, arbiter: Arbiter, reported: Reported = _no_reports) -> None:
        self._arbiter = arbiter
        self._reported = reported

    def state(self) -> LeaseState:
        config = self._arbiter.config
        estimates = {**self._reported(), **config.estimates}
        return lease_state(self._arbiter.snapshot(), config.context_bytes, estimates)


def ledger_state(
    response: arbiter_pb2.GetLedgerResponse, context_bytes: int, estimates: Mapping[str, int]
) -> LeaseState:
    """The lease state of a `GetLedger` answer. The arbiter's own context size and estimates
    win; `context_bytes` and `estimates` (the orchestrator's settings) fill in for an arbiter
    that does not send them."""
    holders = tuple(
        HolderView(
            holder_id=h.holder_id,
            stage=h.stage,
            pid=0,
            model_bytes=h.model_bytes,
            context_bytes=h.context_bytes,
            requested_bytes=h.model_bytes,
            held_seconds=h.held_seconds,
            reclaiming=h.reclaiming,
            busy=h.busy,
            idle_seconds=0.0,
            device_bytes=0,
        )
        for h in response.holders
    )
    snapshot = LedgerSnapshot(
        device_index=response.device_index,
        budget_bytes=response.budget_bytes,
        granted_bytes=response.granted_bytes,
        high_water_bytes=response.granted_high_water_bytes,
        holders=holders,
        queue=(),
        learned=dict(response.learned_bytes),
    )
    merged = {**estimates, **response.estimated_bytes}
    return lease_state(snapshot, response.context_bytes or context_bytes, merged)


class RemoteLeaseView:
    """The lease state of a standalone arbiter, polled over gRPC (`GetLedger`) every
    `interval` seconds. `state()` never blocks: it returns the last ledger received, which is
    kept while the arbiter is unreachable (a failed poll is logged, never raised); before the
    first answer it is the empty state (nothing known to need a lease: stages overlap)."""

    def __init__(
        self,
        address: str,
        device_index: int = 0,
        interval: float = 0.5,
        timeout: float = 1.0,
        context_bytes: int = 0,
        estimates: Mapping[str, int] | None = None,
        security: SecuritySettings | None = None,
        reported: Reported = _no_reports,
    ) -> None:
        self.address = address
        self._security = security or SecuritySettings()
        self._device_index = device_index
        self._interval = interval
        self._timeout = timeout
        self._context_bytes = context_bytes
        self._estimates = dict(estimates or {})
        self._reported = reported
        self._state = LeaseState()
        self._channel: grpc.aio.Channel | None = None
        self._task: asyncio.Task[None] | None = None
        self._reachable: bool | None = None  # None until the first poll
        self.polls = 0  # successful polls
        self.failures = 0  # failed polls
        self.updated_at: float | None = None  # time.monotonic() of the last good poll

    def state(self) -> LeaseState:
        return self._state

    async def start(self) -> None:
        """Open the channel and start polling (the first poll runs at once)."""
        self._channel = self._security.internal_channel(self.address)
        self._task = asyncio.create_task(self._run(), name="arbiter-ledger-poll")

    async def close(self) -> None:
        """Stop polling and close the channel."""
        await cancel_and_wait([self._task])
        self._task = None
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def poll(self) -> bool:
        """Ask the arbiter for its ledger once; True when the state was updated."""
        if self._channel is None:
            raise RuntimeError("RemoteLeaseView.start() was not called")
        stub = arbiter_pb2_grpc.ArbiterStub(self._channel)
        request = arbiter_pb2.GetLedgerRequest(device_index=self._device_index)
        try:
            response = await stub.GetLedger(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as e:
            self.failures += 1
            if self._reachable is not False:
                log.warning(
                    "arbiter %s unreachable (%s: %s); keeping its last known ledger",
                    self.address,
                    e.code().name,
                    e.details(),
                )
            self._reachable = False
            return False
        estimates = {**self._reported(), **self._estimates}
        self._state = ledger_state(response, self._context_bytes, estimates)
        self.polls += 1
        self.updated_at = time.monotonic()
        if self._reachable is not True:
            log.info("reading the ledger of the arbiter at %s", self.address)
        self._reachable = True
        return True

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the poller die: dispatch keeps the last state
                self.failures += 1
                log.exception("polling the arbiter at %s failed", self.address)
            await asyncio.sleep(max(0.0, self._interval - (time.monotonic() - started)))


class NoLeaseView:
    """No arbiter in sight: nothing needs a lease as far as the dispatcher knows."""

    def state(self) -> LeaseState:
        return LeaseState()
