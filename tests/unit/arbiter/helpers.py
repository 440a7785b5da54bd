"""Shared builders for the arbiter's unit tests."""

from __future__ import annotations

from typing import Any

from orchestrator.arbiter.core import LeaseCore
from orchestrator.arbiter.ledger import GIB, ArbiterConfig, Event

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
