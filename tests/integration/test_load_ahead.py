"""Load-ahead with real processes and no `arbiter.estimates`: the stages report their
footprints (StageAdmin.GetStatus), so the orchestrator knows that matting, shape and texture
(simulated 2 / 3 / 3 GiB + contexts) fit its 16 GiB budget together before any of them has
loaded, and brings them up while the job's first stage runs. Without the reports the
scheduler would know no footprint, and nothing would be loaded ahead."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.launcher.local import LocalSystem
from meshpipe.v1 import orchestrator_pb2 as pb
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from tests.integration.scenes import three_object_scene
from tests.support.metrics import scrape, value
from tests.support.simulated import simulated_env

pytestmark = pytest.mark.slow
GIB = 1 << 30
FOOTPRINTS = {"matting": 2 * GIB, "shape": 3 * GIB, "texture": 3 * GIB}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    root = tmp_path_factory.mktemp("ahead")
    sizes = {stage: str(nbytes) for stage, nbytes in FOOTPRINTS.items()}
    env = simulated_env(16 * GIB, sizes, "20GiB", dict.fromkeys(FOOTPRINTS, "1.0"))
    with LocalSystem(root / "run", root / "out", env=env, grace=5) as s:
        yield s


def status(system: LocalSystem, stage: str) -> stage_pb2.GetStatusResponse:
    with grpc.insecure_channel(system.addresses[stage]) as channel:
        stub = stage_pb2_grpc.StageAdminStub(channel)
        return stub.GetStatus(stage_pb2.GetStatusRequest(), timeout=5)


def test_every_stage_reports_its_footprint_before_loading(system: LocalSystem) -> None:
    for stage, nbytes in FOOTPRINTS.items():
        s = status(system, stage)
        assert s.cold_loads == 0 and s.footprint_bytes == nbytes, stage
    assert status(system, "detector").footprint_bytes == 0, "runs on the CPU: no lease"


def test_later_stages_are_loaded_while_the_first_job_s_first_stage_runs(
    system: LocalSystem,
) -> None:
    with MeshpipeClient(system.orchestrator_address, timeout=120) as client:
        done = client.submit(
            three_object_scene(), options=job_options(octree_resolution=48, texture_size=256)
        )
    assert done.done.summary.state == pb.JOB_STATE_SUCCEEDED, done.done.summary.error
    metrics = scrape(f"http://127.0.0.1:{system.metrics_ports['orchestrator']}/metrics")
    ahead = {
        stage: value(metrics, "meshpipe_orchestrator_load_ahead_total", stage=stage)
        for stage in FOOTPRINTS
    }
    assert ahead == dict.fromkeys(FOOTPRINTS, 1.0), ahead
    for stage in FOOTPRINTS:
        assert status(system, stage).cold_loads == 1, f"{stage} loaded once, not twice"
