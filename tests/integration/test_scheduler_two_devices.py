"""Stages on two GPUs, simulated (CPU): LocalSystem whose orchestrator runs one embedded
arbiter ledger per device, 4.5 GiB each; matting (2 GiB) and shape (3 GiB) on device 0,
where they do not fit together and take turns, texture (3 GiB) on device 1, where it fits.
Jobs flow through both devices while the orchestrator's /metrics is sampled: the leases
on each device never exceed that device's budget, and each stage's leases are on its own
device only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.launcher.local import LocalSystem
from meshpipe.v1 import orchestrator_pb2 as pb
from tests.integration.scenes import three_object_scene
from tests.support.metrics import Sampler, scrape, value
from tests.support.simulated import arbiter_driven, simulated_env

pytestmark = pytest.mark.slow
GIB = 1 << 30
BUDGET = int(4.5 * GIB)
FOOTPRINTS = {"matting": "2GiB", "shape": "3GiB", "texture": "3GiB"}
DEVICE = {"matting": 0, "shape": 0, "texture": 1}


def system_env() -> dict[str, str]:
    env = {**simulated_env(BUDGET, FOOTPRINTS), **arbiter_driven(FOOTPRINTS)}
    for stage in FOOTPRINTS:
        env[f"MESHPIPE_{stage.upper()}_DEVICE_INDEX"] = str(DEVICE[stage])  # the stage's ledger
        env[f"MESHPIPE_ORCHESTRATOR_{stage.upper()}__DEVICE_INDEX"] = str(DEVICE[stage])
    return env


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    root = tmp_path_factory.mktemp("devices")
    with LocalSystem(root / "run", root / "out", env=system_env(), grace=5) as s:
        yield s


def test_jobs_flow_through_two_devices_each_within_its_budget(system: LocalSystem) -> None:
    url = f"http://127.0.0.1:{system.metrics_ports['orchestrator']}/metrics"
    options = job_options(octree_resolution=48, texture_size=256)
    with (
        MeshpipeClient(system.orchestrator_address, timeout=180) as client,
        Sampler(url).running() as sampler,
        ThreadPoolExecutor(2) as pool,
    ):
        dones = list(
            pool.map(lambda _: client.submit(three_object_scene(), options=options), [0, 1])
        )
    final = scrape(url)

    for done in dones:
        assert done.done.summary.state == pb.JOB_STATE_SUCCEEDED, done.done.summary.error
        manifest = json.loads((system.output_dir / done.job_id / "manifest.json").read_text())
        for obj in manifest["objects"]:
            devices = {s["stage"]: s["device"] for s in obj["stages"]}
            assert devices == {"matting": "sim:0", "shape": "sim:0", "texture": "sim:1"}
    for label in ("0", "1"):
        granted = sampler.series("meshpipe_arbiter_granted_bytes", device=label)
        assert len(granted) > 20 and max(granted) <= BUDGET, (label, max(granted) / GIB)
        high = value(final, "meshpipe_arbiter_granted_high_water_bytes", device=label)
        assert 3 * GIB < high <= BUDGET, (label, high / GIB)
    for stage, index in DEVICE.items():
        own, other = str(index), str(1 - index)
        grants = value(final, "meshpipe_arbiter_grants_total", device=own, stage=stage)
        assert grants >= 1 and not value(
            final, "meshpipe_arbiter_grants_total", device=other, stage=stage
        ), (stage, index)
    evictions = value(final, "meshpipe_arbiter_evictions_total", device="0", stage="matting")
    evictions += value(final, "meshpipe_arbiter_evictions_total", device="0", stage="shape")
    assert evictions >= 1, "matting and shape take turns on device 0"
    assert not value(final, "meshpipe_arbiter_evictions_total", device="1", stage="texture")
    print(
        f"\npeak granted: device 0 "
        f"{max(sampler.series('meshpipe_arbiter_granted_bytes', device='0')) / GIB:.2f} GiB, "
        f"device 1 {max(sampler.series('meshpipe_arbiter_granted_bytes', device='1')) / GIB:.2f}"
        f" GiB of {BUDGET / GIB:.1f} GiB each; device-0 evictions {evictions:.0f}"
    )
