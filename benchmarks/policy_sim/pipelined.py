"""Policies (b) and (c): objects stream through the stages; the GPU serves one batch at a
time, chosen by `orchestrator.policy.choose_next_batch`; memory by (b) AllResident or (c)
LeasedMemory."""

from __future__ import annotations

import itertools

from benchmarks.policy_sim.memory import AllResident, Infeasible, LeasedMemory, Memory
from benchmarks.policy_sim.physics import STAGE_ORDER, Physics
from benchmarks.policy_sim.result import RunResult, infeasible
from benchmarks.policy_sim.workload import Workload
from orchestrator.policy import BatchPolicy, StageView, WorkItem, choose_next_batch

GIB = 1 << 30


def run_resident(physics: Physics, workload: Workload, budget: int) -> RunResult:
    """(b): infeasible when the stages' footprints together exceed the budget."""
    need = sum(physics.lease_bytes(s) for s in STAGE_ORDER)
    if need > budget:
        return infeasible("(b) all resident", f"needs {need / GIB:.1f} GiB resident")
    return _simulate("(b) all resident", physics, workload, AllResident(physics), BatchPolicy())


def run_meshpipe(
    physics: Physics, workload: Workload, budget: int, policy: BatchPolicy | None = None
) -> RunResult:
    """(c): leases + park/wake + batching by stage with an age bound."""
    try:
        memory = LeasedMemory(physics, budget)
        return _simulate("(c) meshpipe", physics, workload, memory, policy or BatchPolicy())
    except Infeasible as exc:
        return infeasible("(c) meshpipe", str(exc))


def _simulate(
    name: str, physics: Physics, workload: Workload, memory: Memory, policy: BatchPolicy
) -> RunResult:
    queues: dict[str, list[WorkItem]] = {s: [] for s in STAGE_ORDER}
    seq = itertools.count()
    objects = {j.job_id: j.objects for j in workload.jobs}
    left = dict(objects)
    done: dict[str, float] = {}
    arrivals = sorted(workload.jobs, key=lambda j: j.arrival)
    t = 0.0
    while True:
        while arrivals and arrivals[0].arrival <= t:
            job = arrivals.pop(0)
            item = WorkItem(job.job_id, next(seq), job.arrival, job.arrival, job.objects)
            queues[STAGE_ORDER[0]].append(item)
        views = [_view(physics, memory, queues, stage) for stage in STAGE_ORDER]
        batch = choose_next_batch(views, t, memory.free_bytes(), policy)
        if batch is None:
            if not arrivals:
                break
            t = arrivals[0].arrival
            continue
        start = memory.bring_up(batch.stage, t)
        stage = physics.stage(batch.stage)
        t = start + len(batch.items) * stage.run_seconds
        memory.used(batch.stage, t)
        for k, item in enumerate(batch.items):
            # one model call for the whole batch (shape) ends at once; other stages' calls
            # of a batch run one after the other, each item done when its call ends
            finished = t if stage.grouped else start + (k + 1) * stage.run_seconds
            queues[batch.stage].remove(item)
            _route(batch.stage, item, finished, queues, objects, left, done, seq)
    arrival = {j.job_id: j.arrival for j in workload.jobs}
    return RunResult(
        name,
        makespan=t,
        job_latencies=[done[j] - arrival[j] for j in sorted(done)],
        cold_loads=memory.cold_loads,
        wakes=memory.wakes,
        parks=memory.parks,
        peak_bytes=memory.peak_bytes(),
    )


def _view(
    physics: Physics, memory: Memory, queues: dict[str, list[WorkItem]], stage: str
) -> StageView:
    return StageView(
        stage,
        STAGE_ORDER.index(stage),
        tuple(queues[stage]),
        memory.is_resident(stage),
        memory.lease_bytes(stage),
        physics.stage(stage).max_batch,
    )


def _route(
    stage: str,
    item: WorkItem,
    now: float,
    queues: dict[str, list[WorkItem]],
    objects: dict[str, int],
    left: dict[str, int],
    done: dict[str, float],
    seq: itertools.count[int],
) -> None:
    """Hand a finished item to the next stage (the detector fans out into objects)."""
    if stage == STAGE_ORDER[0]:
        for _ in range(objects[item.job_id]):
            queues[STAGE_ORDER[1]].append(
                WorkItem(item.job_id, next(seq), now, item.job_since, item.job_objects)
            )
    elif stage != STAGE_ORDER[-1]:
        following = STAGE_ORDER[STAGE_ORDER.index(stage) + 1]
        queues[following].append(
            WorkItem(item.job_id, next(seq), now, item.job_since, item.job_objects)
        )
    else:
        left[item.job_id] -= 1
        if left[item.job_id] == 0:
            done[item.job_id] = now
