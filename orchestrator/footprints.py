"""The stages' own footprints, read once at start-up, for the scheduler's lease view.

The arbiter learns a stage's footprint from its first lease, or knows it up front from
its `estimates` setting. Without either, the orchestrator would treat a stage that has
not loaded yet as needing no lease. It would then overlap stages that cannot fit
together (their first requests queue at the arbiter instead of being batched by stage),
and it would not load stages ahead. Every stage knows its own estimate (memory profile,
backend, `footprint_bytes` setting) before loading, and reports it in
`StageAdmin.GetStatus.footprint_bytes`. `StageFootprints` asks each stage until that
stage has answered once. The lease views use the answers where the arbiter has neither
an estimate nor a learned peak: configured estimates and learned peaks win.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from meshpipe.runtime.tasks import cancel_and_wait
from orchestrator.domain import Stage

log = logging.getLogger(__name__)

Ask = Callable[[Stage], Awaitable[int]]  # one stage's footprint bytes (StageAdmin.GetStatus)


class StageFootprints:
    """Footprints reported by the stages, asked every `interval` seconds until each stage
    has answered; `known()` never blocks (stages not yet reached are absent)."""

    def __init__(self, ask: Ask, stages: tuple[Stage, ...] = tuple(Stage), interval: float = 2.0):
        self._ask = ask
        self._stages = stages
        self._interval = interval
        self._known: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    def known(self) -> Mapping[str, int]:
        """Stage name -> reported footprint bytes (0: the stage takes no device memory)."""
        return self._known

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="stage-footprints")

    async def close(self) -> None:
        await cancel_and_wait([self._task])
        self._task = None

    async def ask_missing(self) -> None:
        """Ask every stage that has not answered yet, all at once."""
        missing = [s for s in self._stages if s.value not in self._known]
        answers = await asyncio.gather(*(self._ask(s) for s in missing), return_exceptions=True)
        for stage, answer in zip(missing, answers, strict=True):
            if isinstance(answer, BaseException):
                if isinstance(answer, asyncio.CancelledError):
                    raise answer
                log.debug("footprint of %s not known yet: %s", stage.value, answer)
                continue
            self._known[stage.value] = int(answer)
            if answer:
                log.info("%s reports a footprint of %.2f GiB", stage.value, answer / (1 << 30))

    async def _run(self) -> None:
        while len(self._known) < len(self._stages):
            await self.ask_missing()
            if len(self._known) < len(self._stages):
                await asyncio.sleep(self._interval)
