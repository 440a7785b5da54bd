"""The lease-aware scheduler with real processes: LocalSystem with the orchestrator's embedded
arbiter on a simulated 6 GiB budget, and matting / shape / texture stages that claim
simulated 2 / 3 / 3 GiB footprints (+ 617 MiB context each), so that no two of them fit
together (the arbiter is told these as estimates, so the scheduler batches from the first
call). The orchestrator's /metrics (its own and the arbiter's) is sampled throughout."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import trimesh

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.launcher.local import LocalSystem
from meshpipe.v1 import orchestrator_pb2 as pb
from tests.integration.scenes import three_object_scene
from tests.support.metrics import Sampler, scrape, value
from tests.support.simulated import arbiter_driven, simulated_env

pytestmark = pytest.mark.slow
GIB = 1 << 30
BUDGET = 6 * GIB
TTL = 2.0
FOOTPRINTS = {"matting": "2GiB", "shape": "3GiB", "texture": "3GiB"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def system_env() -> dict[str, str]:
    env = {
        **simulated_env(BUDGET, FOOTPRINTS, load_seconds={"shape": "0.5"}),
        **arbiter_driven(FOOTPRINTS, ttl_seconds=TTL),  # the estimates: batch at once
        "MESHPIPE_ORCHESTRATOR_ARBITER__TRUTH_INTERVAL_SECONDS": "0.2",
        "MESHPIPE_ORCHESTRATOR_BATCH_AGE_BOUND_SECONDS": "30",
    }
    return env


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    root = tmp_path_factory.mktemp("leases")
    with LocalSystem(root / "run", root / "out", env=system_env(), grace=5) as s:
        yield s


@pytest.fixture(scope="module")
def client(system: LocalSystem) -> Iterator[MeshpipeClient]:
    with MeshpipeClient(system.orchestrator_address, timeout=180) as c:
        yield c


def metrics_url(system: LocalSystem, name: str) -> str:
    return f"http://127.0.0.1:{system.metrics_ports[name]}/metrics"


def submit(client: MeshpipeClient) -> pb.JobEvent:
    options = job_options(octree_resolution=48, texture_size=256)
    return client.submit(three_object_scene(), options=options)


def assert_meshes_load(out: Path, done: pb.JobEvent) -> None:
    assert done.done.summary.state == pb.JOB_STATE_SUCCEEDED, done.done.summary.error
    glbs = sorted((out / done.job_id / "textured").glob("*.glb"))
    assert len(glbs) == 3
    for glb in glbs:
        meshes = list(trimesh.load_scene(glb, file_type="glb").geometry.values())
        assert meshes and sum(len(m.faces) for m in meshes) > 0


def wait_for(condition: Callable[[], bool], within: float, what: str) -> float:
    t0 = time.monotonic()
    while not condition():
        assert time.monotonic() - t0 < within, f"{what} not within {within}s"
        time.sleep(0.01)
    return time.monotonic() - t0


def stage_parks(system: LocalSystem) -> float:
    total = 0.0
    for stage in FOOTPRINTS:
        samples = scrape(metrics_url(system, stage))
        total += value(
            samples, "meshpipe_stage_transitions_total", stage=stage, kind="park", source="resident"
        )
    return total


def test_concurrent_jobs_share_a_budget_that_does_not_fit_all_stages(
    system: LocalSystem, client: MeshpipeClient
) -> None:
    url = metrics_url(system, "orchestrator")
    with Sampler(url).running() as sampler, ThreadPoolExecutor(3) as pool:
        dones = list(pool.map(lambda _: submit(client), range(3)))
        time.sleep(0.3)
    final = scrape(url)

    for done in dones:
        assert_meshes_load(system.output_dir, done)
    granted = sampler.series("meshpipe_arbiter_granted_bytes", device="0")
    assert len(granted) > 20 and max(granted) > 2 * GIB
    assert max(granted) <= BUDGET, f"granted {max(granted) / GIB:.2f} GiB > budget"
    assert value(final, "meshpipe_arbiter_granted_high_water_bytes", device="0") <= BUDGET
    evictions = sum(
        value(final, "meshpipe_arbiter_evictions_total", device="0", stage=s) for s in FOOTPRINTS
    )
    assert evictions >= 2, "stages must take turns through reclaims"
    assert stage_parks(system) >= 2, "reclaims must really park the stages"
    assert max(sampler.series("meshpipe_orchestrator_dispatch_batched")) == 1
    batches = {
        (stage, reason): value(
            final, "meshpipe_orchestrator_dispatch_batches_total", stage=stage, reason=reason
        )
        for stage in FOOTPRINTS
        for reason in ("aged", "resident", "fits", "swap")
    }
    calls = 3 * 3 * len(FOOTPRINTS)
    assert 0 < sum(batches.values()) < calls, f"work is batched by stage: {batches}"
    shape = scrape(metrics_url(system, "shape"))
    batch_rpcs = value(
        shape,
        "meshpipe_stage_requests_total",
        stage="shape",
        method="GenerateShapeBatch",
        code="OK",
    )
    assert batch_rpcs > 0, "shape batches must reach the stage as single GenerateShapeBatch calls"
    print(
        f"\npeak granted {max(granted) / GIB:.2f} GiB of {BUDGET / GIB:.0f}; evictions "
        f"{evictions:.0f}; parks {stage_parks(system):.0f}; batches {sum(batches.values()):.0f} "
        f"for {calls} calls: { {k: v for k, v in batches.items() if v} }; "
        f"GenerateShapeBatch calls {batch_rpcs:.0f}"
    )


def test_a_stage_killed_holding_its_lease_is_restarted_and_its_call_retried(
    system: LocalSystem, client: MeshpipeClient
) -> None:
    url = metrics_url(system, "orchestrator")
    assert system.supervisor is not None
    before = system.supervisor.restarts.get("shape", 0)
    pid = system.children["shape"].pid

    def shape_leased_in_flight() -> bool:
        s = scrape(url)
        held = value(s, "meshpipe_arbiter_stage_granted_bytes", device="0", stage="shape")
        busy = value(s, "meshpipe_orchestrator_stage_in_flight", stage="shape")
        return held > GIB and busy >= 1  # the model lease, not only the context

    def shape_freed() -> bool:
        s = scrape(url)
        return value(s, "meshpipe_arbiter_stage_granted_bytes", device="0", stage="shape") == 0

    retries_before = value(scrape(url), "meshpipe_orchestrator_stage_retries_total", stage="shape")
    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(submit, client)
        wait_for(shape_leased_in_flight, 60, "a shape call holding its lease")
        os.kill(pid, signal.SIGKILL)
        freed_in = wait_for(shape_freed, TTL, "shape's lease freed after kill -9")
        done = job.result(timeout=120)

    assert freed_in < TTL
    assert_meshes_load(system.output_dir, done)
    assert system.supervisor.restarts.get("shape", 0) == before + 1
    assert system.children["shape"].pid != pid and system.children["shape"].alive()
    retries = value(scrape(url), "meshpipe_orchestrator_stage_retries_total", stage="shape")
    assert retries >= retries_before + 1, "the call in flight was retried"
    print(f"\nkill -9: shape lease freed in {freed_in * 1000:.0f} ms; retries {retries}")
