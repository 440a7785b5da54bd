"""Ledger against NVML on a real GPU: a ModelRunner whose "model" is real device memory
holds its lease through the arbiter's gRPC service, and the arbiter's truth check (NVML)
is compared with its ledger while resident, parked and gone.

GPU only (needs torch with CUDA and nvidia-ml-py); on the GPU machine:
    python3 -m pytest -q -s -m gpu tests/integration/test_arbiter_gpu.py
With OUT set, the readings are written to $OUT/arbiter_gpu.json.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from meshpipe.runtime.backend import Backend, BackendInfo, DeviceMemory
from meshpipe.runtime.lease_client import GrpcLease
from meshpipe.runtime.metrics import StageMetrics
from meshpipe.runtime.model import ModelRunner, ModelState
from meshpipe.runtime.settings import StageSettings
from orchestrator.arbiter.arbiter import Arbiter
from orchestrator.arbiter.ledger import GIB, MIB, ArbiterConfig
from orchestrator.arbiter.metrics import ArbiterMetrics
from orchestrator.arbiter.server import create_arbiter_server

pytestmark = pytest.mark.gpu
torch: Any = pytest.importorskip("torch")
pytest.importorskip("pynvml")
if not torch.cuda.is_available():
    pytest.skip("needs a CUDA GPU", allow_module_level=True)

from orchestrator.arbiter.truth import NvmlProbe  # noqa: E402 - after the GPU checks

BLOB = 2 * GIB


class CudaBlobBackend(Backend):
    """A model of BLOB bytes of real device memory, parked to pinned host memory."""

    def __init__(self) -> None:
        self.blob: Any = None
        self.host: Any = None

    @property
    def info(self) -> BackendInfo:
        return BackendInfo("cuda-blob", "none", "cuda:0")

    @property
    def footprint_bytes(self) -> int:
        return BLOB

    def load(self) -> None:
        self.blob = torch.ones(BLOB, dtype=torch.uint8, device="cuda")
        torch.cuda.synchronize()

    def park(self) -> None:
        self.host = self.blob.to("cpu").pin_memory()
        self.blob = None
        torch.cuda.empty_cache()

    def wake(self) -> None:
        self.blob, self.host = self.host.to("cuda"), None
        torch.cuda.synchronize()

    def unload(self) -> None:
        self.blob = self.host = None
        torch.cuda.empty_cache()

    def memory(self) -> DeviceMemory:
        return DeviceMemory(
            torch.cuda.memory_allocated(),
            torch.cuda.memory_reserved(),
            torch.cuda.max_memory_reserved(),
        )

    def reset_peak_memory(self) -> None:
        torch.cuda.reset_peak_memory_stats()

    def infer(self) -> int:
        return int(self.blob[:1024].sum().item())


@pytest.fixture
async def arbiter() -> AsyncIterator[tuple[Arbiter, str]]:
    probe = NvmlProbe(0)
    config = ArbiterConfig(budget_bytes=8 * GIB, ttl_seconds=5.0, heartbeat_seconds=0.5)
    arb = Arbiter(config, ArbiterMetrics(CollectorRegistry()), probe, drift_threshold=GIB)
    server, port, _ = await create_arbiter_server({0: arb}, "127.0.0.1:0")
    await server.start()
    await arb.start()
    yield arb, f"127.0.0.1:{port}"
    await server.stop(0)
    await arb.close()


async def test_the_ledger_matches_nvml_resident_parked_and_gone(
    arbiter: tuple[Arbiter, str],
) -> None:
    arb, address = arbiter
    baseline = (await arb.check_truth()).used  # type: ignore[union-attr]
    lease = GrpcLease(address, "shape", holder_id="gpu-test", heartbeat_seconds=0.5)
    settings = StageSettings(park_after=0, unload_after=0, warmup=False)
    runner = ModelRunner(
        "shape", CudaBlobBackend(), settings, StageMetrics("shape", CollectorRegistry()), lease
    )
    lease.attach(runner)
    readings: dict[str, Any] = {"gpu": torch.cuda.get_device_name(0), "baseline": baseline}

    async def record(name: str) -> tuple[int, int]:
        reading = await arb.check_truth()
        assert reading is not None and reading.source == "nvml"
        used, granted = reading.used - baseline, arb.snapshot().granted_bytes
        readings[name] = {"nvml_used_minus_baseline": used, "ledger_granted": granted}
        return used, granted

    await runner.run("Infer", runner.backend.infer)
    used, granted = await record("resident")
    assert arb.snapshot().learned["shape"] >= BLOB
    assert abs(used - granted) < 256 * MIB, readings

    await runner.unload(ModelState.PARKED)
    used, granted = await record("parked")
    assert granted == arb.config.context_bytes, "a park keeps the context charged"
    assert abs(used - granted) < 256 * MIB, readings

    await runner.close()
    await lease.close()
    _, granted = await record("session_closed")
    assert granted == 0
    save(readings)


def save(readings: dict[str, Any]) -> None:
    """Print the readings, and keep them in $OUT when set (GPU machine)."""
    text = json.dumps(readings, indent=1)
    print(text)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "arbiter_gpu.json").write_text(text)
