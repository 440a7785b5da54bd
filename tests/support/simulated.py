"""Environments of a LocalSystem whose GPU stages claim simulated footprints, leased from
the orchestrator's embedded arbiter on a simulated device (integration tests with real
processes; no GPU)."""

from __future__ import annotations

import json
from collections.abc import Mapping


def simulated_env(
    budget: int,
    footprints: Mapping[str, str],
    capacity: str = "8GiB",
    load_seconds: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The arbiter at `budget` on a simulated device of `capacity`; each stage of
    `footprints` claims that many bytes and loads in its `load_seconds` (default 0.1)."""
    env = {
        "MESHPIPE_MATTING_REFINE_FOREGROUND": "false",
        "MESHPIPE_ORCHESTRATOR_ARBITER__DEVICE_KIND": "simulated",
        "MESHPIPE_ORCHESTRATOR_ARBITER__SIM_CAPACITY_BYTES": capacity,
        "MESHPIPE_ORCHESTRATOR_ARBITER__BUDGET_BYTES": str(budget),
    }
    for stage, nbytes in footprints.items():
        prefix = f"MESHPIPE_{stage.upper()}_"
        env[prefix + "SIM_DEVICE_BYTES"] = nbytes
        env[prefix + "SIM_LOAD_SECONDS"] = (load_seconds or {}).get(stage, "0.1")
    return env


def arbiter_driven(footprints: Mapping[str, str], ttl_seconds: float = 2.0) -> dict[str, str]:
    """Fast arbiter timings, the footprints as its estimates (it batches from the first
    call), and stages that park only when the arbiter asks."""
    arbiter = "MESHPIPE_ORCHESTRATOR_ARBITER__"
    env = {
        arbiter + "SAFETY_MARGIN_BYTES": "0",
        arbiter + "TTL_SECONDS": str(ttl_seconds),
        arbiter + "MIN_RESIDENCY_SECONDS": "0.3",
        arbiter + "ESTIMATES": json.dumps(dict(footprints)),
    }
    for stage in footprints:
        prefix = f"MESHPIPE_{stage.upper()}_"
        env[prefix + "LEASE_HEARTBEAT_SECONDS"] = "0.2"
        env[prefix + "PARK_AFTER"] = "0"  # park only when the arbiter asks
        env[prefix + "UNLOAD_AFTER"] = "0"
    return env
