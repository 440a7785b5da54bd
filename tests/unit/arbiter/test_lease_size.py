"""One vocabulary for GPU memory: a stage's estimate is its model bytes + activation peak
(peak reserved), the CUDA context is added by the arbiter, once. A fresh stage's first
lease is therefore model + activations + one context, not two contexts."""

from __future__ import annotations

import asyncio

from meshpipe.profiles import profile_named
from meshpipe.runtime.model import ModelRunner
from meshpipe.runtime.settings import StageSettings
from meshpipe.runtime.simdevice import SimulatedDeviceBackend
from orchestrator.arbiter.core import LeaseCore
from orchestrator.arbiter.ledger import CUDA_CONTEXT_BYTES, GIB, ArbiterConfig, Granted
from services.texture.paint.footprint import MEASURED_MARGIN, estimate_bytes
from services.texture.paint.settings import PaintSettings, apply_paint_profile
from tests.unit.runtime.fakes import FakeBackend


class CoreLease:
    """The runner's lease hook backed by a LeaseCore (virtual clock 0): grants at once."""

    def __init__(self, core: LeaseCore, stage: str) -> None:
        self.core, self.stage = core, stage
        self.grants: list[Granted] = []
        core.open(stage, stage, 0.0)

    async def acquire(self, nbytes: int) -> None:
        events = self.core.acquire(self.stage, nbytes, 0, 0.0, 0.0)
        self.grants += [e for e in events if isinstance(e, Granted)]

    async def release(self) -> None:
        self.core.release(self.stage, 0.0)

    async def report_peak(self, nbytes: int) -> None:
        self.core.report_peak(self.stage, nbytes, 0.0)


def test_a_profile_estimate_is_model_plus_activations_without_a_context() -> None:
    shape = profile_named("high").stage("shape")
    assert shape.footprint_bytes("v2-0") == int(10.8 * GIB)  # measured 10.53 GiB peak reserved
    core = LeaseCore(ArbiterConfig(budget_bytes=80 * GIB))
    core.open("shape-1", "shape", 0.0)
    (granted,) = core.acquire("shape-1", shape.footprint_bytes("v2-0"), 0, 0, 0.0)
    assert isinstance(granted, Granted)
    assert granted.model_bytes == int(10.8 * GIB)
    assert granted.context_bytes == CUDA_CONTEXT_BYTES
    assert core.granted == int(10.8 * GIB) + CUDA_CONTEXT_BYTES


def test_the_paint_estimate_leaves_the_context_to_the_arbiter() -> None:
    high = apply_paint_profile(PaintSettings(), "high")
    assert estimate_bytes(high, 2) == int(11.88 * GIB * MEASURED_MARGIN)


def test_a_fresh_stage_s_first_lease_is_model_plus_activations_plus_one_context() -> None:
    model = 3 * GIB  # weights + activation peak of the simulated model
    backend = SimulatedDeviceBackend(FakeBackend(), model, CUDA_CONTEXT_BYTES)
    core = LeaseCore(ArbiterConfig(budget_bytes=16 * GIB))
    lease = CoreLease(core, "shape")

    async def first_request() -> None:
        runner = ModelRunner("shape", backend, StageSettings(warmup=False), lease=lease)
        await runner.run("Infer", backend.infer, 1)
        await runner.close()

    asyncio.run(first_request())
    (grant,) = lease.grants
    assert grant.model_bytes + grant.context_bytes == model + CUDA_CONTEXT_BYTES
    assert core.snapshot(0.0).learned == {"shape": model}, "the peak it reports has no context"
