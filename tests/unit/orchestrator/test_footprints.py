"""StageFootprints asks every stage until each has answered once; the lease views use the
reported footprints only where the arbiter has neither an estimate nor a learned peak."""

from __future__ import annotations

import asyncio

from meshpipe.errors import Unavailable
from orchestrator.arbiter.arbiter import Arbiter
from orchestrator.arbiter.ledger import GIB, MIB, ArbiterConfig
from orchestrator.arbiter.metrics import ArbiterMetrics
from orchestrator.domain import Stage
from orchestrator.footprints import StageFootprints
from orchestrator.lease_view import ArbiterLeaseView

REPORTED = {"detector": 4 * GIB, "matting": 0, "shape": GIB, "texture": 2 * GIB}


class Stages:
    """GetStatus stand-in: shape is unreachable for its first two asks."""

    def __init__(self) -> None:
        self.asks: list[str] = []

    async def footprint(self, stage: Stage) -> int:
        self.asks.append(stage.value)
        if stage is Stage.SHAPE and self.asks.count("shape") <= 2:
            raise Unavailable("shape is starting")
        return REPORTED[stage.value]


async def test_each_stage_is_asked_until_it_answers_then_never_again() -> None:
    stages = Stages()
    footprints = StageFootprints(stages.footprint, interval=0.01)
    await footprints.start()
    for _ in range(200):
        if len(footprints.known()) == len(Stage):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    await footprints.close()
    assert dict(footprints.known()) == REPORTED
    assert stages.asks.count("shape") == 3
    assert stages.asks.count("texture") == 1, "a stage that answered is not asked again"


async def test_reported_footprints_fill_in_where_the_arbiter_knows_nothing() -> None:
    config = ArbiterConfig(
        budget_bytes=6 * GIB, context_bytes=512 * MIB, estimates={"shape": 3 * GIB}
    )
    arbiter = Arbiter(config, ArbiterMetrics())
    await arbiter.start()
    try:
        bare = ArbiterLeaseView(arbiter).state()
        assert not bare.needs_lease("texture") and bare.all_fit()
        state = ArbiterLeaseView(arbiter, lambda: REPORTED).state()
        assert state.needs_lease("texture") and state.needs_lease("detector")
        assert not state.needs_lease("matting"), "0 = takes no device memory"
        assert state.stages["shape"].footprint_bytes == 3 * GIB, "the arbiter's estimate wins"
        assert state.stages["texture"].footprint_bytes == 2 * GIB
        assert not state.all_fit(), "4 + 3 + 2 GiB and three contexts exceed 6 GiB"
    finally:
        await arbiter.close()
