"""The lease arbiter with real processes: `meshpipe arbiter` on a simulated 10 GiB device and
matting stage processes that each claim a simulated 4 GiB footprint (+ 617 MiB context), so
that they do not all fit. The arbiter's /metrics is sampled throughout.

Needs ~/.u2net/u2netp.onnx (`meshpipe weights fetch-default`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
from PIL import Image

from meshpipe.images import encode_png
from meshpipe.v1 import stage_pb2, stage_pb2_grpc
from tests.support.metrics import Sampler, scrape, value
from tests.support.stage_process import StageHandle, read_ready_file, running_stage

GIB = 1 << 30
BUDGET = 10 * GIB
TTL = 2.0


@dataclass
class ArbiterProcess:
    grpc_address: str
    metrics_url: str
    process: subprocess.Popen[bytes]
    log_path: Path


@contextlib.contextmanager
def running_arbiter(extra_args: Sequence[str] = ()) -> Iterator[ArbiterProcess]:
    """`meshpipe arbiter` on a simulated device with a 10 GiB budget and a 2 s TTL."""
    with tempfile.TemporaryDirectory(prefix="meshpipe-arbiter-") as tmp:
        ready, log_path = Path(tmp) / "ready.json", Path(tmp) / "arbiter.log"
        command = [
            *(sys.executable, "-m", "meshpipe.cli.main", "arbiter", "--port", "0"),
            *("--metrics-port", "0", "--ready-file", str(ready), "--device-kind", "simulated"),
            *("--sim-capacity", "16GiB", "--budget", str(BUDGET), "--safety-margin", "0"),
            *("--ttl", str(TTL), *extra_args),
        ]
        env = {**os.environ, "MESHPIPE_ARBITER_TRUTH_INTERVAL_SECONDS": "0.2"}
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            info = read_ready_file(process, ready, log_path, "arbiter", 30)
            yield ArbiterProcess(
                f"127.0.0.1:{info['grpc_port']}",
                f"http://127.0.0.1:{info['metrics_port']}/metrics",
                process,
                log_path,
            )
        finally:
            process.terminate()
            process.wait(15)


def stage_env(arbiter: ArbiterProcess) -> dict[str, str]:
    """A matting stage that leases a simulated 4 GiB and parks only when asked."""
    return {
        "MESHPIPE_MATTING_ARBITER_ADDRESS": arbiter.grpc_address,
        "MESHPIPE_MATTING_SIM_DEVICE_BYTES": "4GiB",
        "MESHPIPE_MATTING_SIM_LOAD_SECONDS": "0.2",
        "MESHPIPE_MATTING_LEASE_HEARTBEAT_SECONDS": "0.2",
        "MESHPIPE_MATTING_PARK_AFTER": "0",
        "MESHPIPE_MATTING_UNLOAD_AFTER": "0",
        "MESHPIPE_MATTING_REFINE_FOREGROUND": "false",
    }


def matte(stage: StageHandle) -> float:
    """One Matte call; returns its wall seconds."""
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[16:48, 16:48] = (200, 60, 40)
    request = stage_pb2.MatteRequest(image=encode_png(Image.fromarray(rgb)))
    t0 = time.monotonic()
    with grpc.insecure_channel(stage.grpc_address) as channel:
        stage_pb2_grpc.MattingStub(channel).Matte(request, timeout=60)
    return time.monotonic() - t0


def wait_for(condition: Callable[[], bool], within: float, what: str) -> float:
    t0 = time.monotonic()
    while not condition():
        assert time.monotonic() - t0 < within, f"{what} not within {within}s"
        time.sleep(0.02)
    return time.monotonic() - t0


def test_stages_that_do_not_all_fit_share_the_budget_through_reclaims() -> None:
    with contextlib.ExitStack() as stack:
        arbiter = stack.enter_context(running_arbiter(["--min-residency", "0.3"]))
        stages = [
            stack.enter_context(running_stage("matting", env=stage_env(arbiter))) for _ in range(3)
        ]
        with Sampler(arbiter.metrics_url).running() as sampler:
            for _ in range(2):  # round robin: the third never fits next to the other two
                for stage in stages:
                    matte(stage)
            with ThreadPoolExecutor(6) as pool:  # then everyone at once
                list(pool.map(matte, stages * 2))
            time.sleep(0.6)  # heartbeats and a truth check after the last transition
        final = scrape(arbiter.metrics_url)
        stage_parks = [
            value(scrape(s.metrics_url or ""), "meshpipe_stage_transitions_total", stage="matting",
                  kind="park", source="resident")
            for s in stages
        ]  # fmt: skip

    granted = sampler.series("meshpipe_arbiter_granted_bytes", device="0")
    assert len(granted) > 20 and max(granted) > 0
    assert max(granted) <= BUDGET
    assert value(final, "meshpipe_arbiter_granted_high_water_bytes", device="0") <= BUDGET
    assert value(final, "meshpipe_arbiter_budget_bytes", device="0") == BUDGET
    assert value(final, "meshpipe_arbiter_evictions_total", device="0", stage="matting") >= 3
    assert sum(stage_parks) >= 3, "reclaims must really park the stages"
    assert value(final, "meshpipe_arbiter_denials_total", device="0", stage="matting",
                 code="RESOURCE_EXHAUSTED") == 0  # fmt: skip
    assert max(sampler.series("meshpipe_arbiter_queue_depth", device="0")) >= 1
    used = value(final, "meshpipe_arbiter_device_used_bytes", device="0", source="simulated")
    ledger = value(final, "meshpipe_arbiter_granted_bytes", device="0")
    assert used == ledger > 0, "the simulated device's truth agrees with the ledger at rest"


def test_crashed_and_hung_holders_lose_their_lease_within_the_ttl() -> None:
    with contextlib.ExitStack() as stack:
        # one 4.6 GiB lease fits in 6 GiB; a long minimum residency rules out reclaims
        arbiter = stack.enter_context(
            running_arbiter(["--budget", str(6 * GIB), "--min-residency", "60"])
        )
        a, b, c = (
            stack.enter_context(running_stage("matting", env=stage_env(arbiter))) for _ in range(3)
        )
        pool = stack.enter_context(ThreadPoolExecutor(2))

        def granted() -> float:
            return value(scrape(arbiter.metrics_url), "meshpipe_arbiter_granted_bytes", device="0")

        matte(a)
        waiting_b: Future[float] = pool.submit(matte, b)
        time.sleep(0.5)
        assert not waiting_b.done(), "b cannot fit while a holds its lease"

        def expirations() -> float:
            samples = scrape(arbiter.metrics_url)
            return value(samples, "meshpipe_arbiter_expirations_total", device="0", stage="matting")

        os.kill(a.pid, signal.SIGSTOP)  # a hangs: no heartbeats, socket still open
        try:
            freed_in = wait_for(lambda: expirations() == 1, TTL + 1, "a's lease expiring")
            assert freed_in <= TTL + 0.3, f"a hung holder kept its lease {freed_in:.2f}s"
            assert waiting_b.result(timeout=30) > 0, "b got the memory"
        finally:
            os.kill(a.pid, signal.SIGCONT)

        def a_parked() -> bool:  # a noticed it lost the lease and left the device
            s = scrape(a.metrics_url or "")
            return value(s, "meshpipe_stage_model_state", stage="matting", state="parked") == 1

        wait_for(a_parked, 5, "a parking after losing its lease")

        waiting_c: Future[float] = pool.submit(matte, c)
        time.sleep(0.5)
        assert not waiting_c.done()
        os.kill(b.pid, signal.SIGKILL)  # b crashes while holding its lease
        freed_in = wait_for(lambda: granted() < 5 * GIB, TTL, "b's lease freed after kill -9")
        assert freed_in < TTL
        assert waiting_c.result(timeout=30) > 0
        assert expirations() == 1, "a crash closes the stream: freed at once, no expiry needed"
        b.process.wait(5)
