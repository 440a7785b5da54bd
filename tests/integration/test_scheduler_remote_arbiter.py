"""The lease-aware scheduler with a standalone arbiter: `meshpipe arbiter` as its own process
(simulated 6 GiB budget, the stages' footprints as its estimates), the orchestrator started
with `--arbiter ADDR` (no embedded arbiter, it polls the arbiter's GetLedger) and matting /
shape / texture stages leasing from the standalone arbiter, with simulated footprints that
do not fit together. The dispatcher must batch by stage, and the arbiter's /metrics
(sampled throughout) must never show more granted than the budget."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from meshpipe.client import MeshpipeClient
from meshpipe.launcher.local import LocalSystem
from tests.integration.test_scheduler_leases import (
    BUDGET,
    FOOTPRINTS,
    GIB,
    TTL,
    assert_meshes_load,
    metrics_url,
    submit,
    system_env,
)
from tests.support.metrics import Sampler, scrape, value
from tests.support.stage_process import read_ready_file

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def standalone_arbiter() -> Iterator[tuple[str, str]]:
    """`meshpipe arbiter` on a simulated device; yields (grpc address, /metrics url)."""
    with tempfile.TemporaryDirectory(prefix="meshpipe-arbiter-") as tmp:
        ready, log_path = Path(tmp) / "ready.json", Path(tmp) / "arbiter.log"
        command = [
            *(sys.executable, "-m", "meshpipe.cli.main", "arbiter", "--port", "0"),
            *("--metrics-port", "0", "--ready-file", str(ready)),
        ]
        env = {
            **os.environ,
            "MESHPIPE_ARBITER_DEVICE_KIND": "simulated",
            "MESHPIPE_ARBITER_SIM_CAPACITY_BYTES": "8GiB",
            "MESHPIPE_ARBITER_BUDGET_BYTES": str(BUDGET),
            "MESHPIPE_ARBITER_SAFETY_MARGIN_BYTES": "0",
            "MESHPIPE_ARBITER_TTL_SECONDS": str(TTL),
            "MESHPIPE_ARBITER_MIN_RESIDENCY_SECONDS": "0.3",
            "MESHPIPE_ARBITER_TRUTH_INTERVAL_SECONDS": "0.2",
            "MESHPIPE_ARBITER_ESTIMATES": json.dumps(FOOTPRINTS),
        }
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            info = read_ready_file(process, ready, log_path, "arbiter", 30)
            yield (
                f"127.0.0.1:{info['grpc_port']}",
                f"http://127.0.0.1:{info['metrics_port']}/metrics",
            )
        finally:
            process.terminate()
            process.wait(15)


def test_the_dispatcher_batches_by_stage_with_a_standalone_arbiter(
    tmp_path: Path,
) -> None:
    with standalone_arbiter() as (address, arbiter_url):
        env = {k: v for k, v in system_env().items() if "_ORCHESTRATOR_ARBITER__" not in k}
        env |= {f"MESHPIPE_{s.upper()}_ARBITER_ADDRESS": address for s in FOOTPRINTS}
        env["MESHPIPE_ORCHESTRATOR_ARBITER_POLL_SECONDS"] = "0.2"
        system = LocalSystem(
            tmp_path / "run",
            tmp_path / "out",
            env=env,
            orchestrator_args=["--arbiter", address],
            arbiter=False,  # no stage points at the orchestrator
            grace=5,
        )
        with system, MeshpipeClient(system.orchestrator_address, timeout=120) as client:
            url = metrics_url(system, "orchestrator")
            embedded = [n for n, _ in scrape(url) if n.startswith("meshpipe_arbiter_")]
            assert not embedded, "no arbiter runs in the orchestrator"
            with (
                Sampler(arbiter_url).running() as arbiter_samples,
                Sampler(url).running() as orchestrator_samples,
                ThreadPoolExecutor(2) as pool,
            ):
                dones = list(pool.map(lambda _: submit(client), range(2)))
                time.sleep(0.3)
            final = scrape(url)
            for done in dones:
                assert_meshes_load(system.output_dir, done)

    granted = arbiter_samples.series("meshpipe_arbiter_granted_bytes", device="0")
    assert len(granted) > 10 and max(granted) > 2 * GIB, "the stages leased from it"
    assert max(granted) <= BUDGET, f"granted {max(granted) / GIB:.2f} GiB > budget"
    assert max(orchestrator_samples.series("meshpipe_orchestrator_dispatch_batched")) == 1
    batches = {
        (stage, reason): value(
            final, "meshpipe_orchestrator_dispatch_batches_total", stage=stage, reason=reason
        )
        for stage in FOOTPRINTS
        for reason in ("aged", "resident", "fits", "swap")
    }
    calls = 2 * 3 * len(FOOTPRINTS)
    assert 0 < sum(batches.values()) < calls, f"work is batched by stage: {batches}"
    print(
        f"\nstandalone arbiter: peak granted {max(granted) / GIB:.2f} GiB of "
        f"{BUDGET / GIB:.0f}; batches {sum(batches.values()):.0f} for {calls} calls: "
        f"{ {k: v for k, v in batches.items() if v} }"
    )
