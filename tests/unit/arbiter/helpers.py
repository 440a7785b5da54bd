"""Shared builders for the arbiter's unit tests."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from meshpipe.runtime.lease_client import GrpcLease
from meshpipe.runtime.metrics import StageMetrics
from meshpipe.runtime.model import ModelRunner
from meshpipe.runtime.settings import StageSettings
from meshpipe.runtime.simdevice import SimulatedDeviceBackend
from orchestrator.arbiter.core import LeaseCore
from orchestrator.arbiter.ledger import GIB, ArbiterConfig, Event
from tests.unit.runtime.fakes import FakeBackend

CTX = GIB // 2


def make_core(budget_gib: float = 10, **overrides: Any) -> LeaseCore:
    """A core with round numbers: 0.5 GiB contexts, 1 s minimum residency, 5 s TTL."""
    config: dict[str, Any] = {
        "budget_bytes": int(budget_gib * GIB),
        "context_bytes": CTX,
        "min_residency_seconds": 1.0,
        "ttl_seconds": 5.0,
        "max_wait_seconds": 30.0,
        "aging_seconds": 10.0,
        "reclaim_timeout_seconds": 3.0,
    }
    config.update(overrides)
    return LeaseCore(ArbiterConfig(**config))


def kinds(events: list[Event]) -> list[tuple[str, str]]:
    """(event class, holder) pairs, for compact assertions."""
    return [(type(e).__name__, e.holder_id) for e in events]


def sim_runner(
    name: str, model_gib: float, lease: GrpcLease | None, **settings: Any
) -> ModelRunner[Any]:
    """A ModelRunner over a simulated device of `model_gib`, wired to `lease`."""
    stage_settings = StageSettings(park_after=0, unload_after=0, warmup=False, **settings)
    backend = SimulatedDeviceBackend(FakeBackend(), int(model_gib * GIB), CTX)
    metrics = StageMetrics(name, CollectorRegistry())
    runner = ModelRunner(name, backend, stage_settings, metrics, lease=lease)
    if lease is not None:
        lease.attach(runner)
    return runner


async def close_runner(runner: ModelRunner[Any]) -> None:
    """Shut down as serve_stage does: drop the model, then end the lease session."""
    await runner.close()
    if isinstance(runner.lease, GrpcLease):
        await runner.lease.close()
