"""Worker mode with real processes: `meshpipe arbiter` on a simulated device and a
`meshpipe stage matting` whose model (embedded rembg, simulated 4 GiB + 617 MiB context)
runs in a worker subprocess. A cold stage has no worker and no context in the ledger; a
parked one keeps both; a killed worker fails its request UNAVAILABLE and the next request
starts a new one.

Needs ~/.u2net/u2netp.onnx (`meshpipe weights fetch-default`)."""

from __future__ import annotations

import contextlib
import os
import signal

import grpc
import psutil
import pytest

from meshpipe.v1 import common_pb2, stage_pb2, stage_pb2_grpc
from tests.integration.test_arbiter_processes import (
    GIB,
    matte,
    running_arbiter,
    stage_env,
    wait_for,
)
from tests.support.metrics import scrape, value
from tests.support.stage_process import StageHandle, running_stage

CONTEXT = 617 * (1 << 20)
MODEL = 4 * GIB


def workers(stage: StageHandle) -> list[int]:
    """Pids of the stage process's model workers (spawned children; multiprocessing's
    resource tracker left out)."""
    found = []
    for child in psutil.Process(stage.pid).children():
        with contextlib.suppress(psutil.NoSuchProcess):
            line = " ".join(child.cmdline())
            if "spawn_main" in line and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child.pid)
    return found


def unload(stage: StageHandle, target: common_pb2.ModelState) -> None:
    with grpc.insecure_channel(stage.grpc_address) as channel:
        request = stage_pb2.UnloadRequest(target=target, wait_for_idle=True)
        stage_pb2_grpc.StageAdminStub(channel).Unload(request, timeout=60)


def test_a_cold_worker_mode_stage_leaves_no_worker_and_no_context_in_the_ledger() -> None:
    with contextlib.ExitStack() as stack:
        # a long TTL: worker start-ups on a busy CI machine must not expire the session
        arbiter = stack.enter_context(running_arbiter(["--ttl", "20"]))
        env = {**stage_env(arbiter), "MESHPIPE_MATTING_WORKER_MODE": "subprocess"}
        stage = stack.enter_context(running_stage("matting", env=env))

        def granted() -> float:
            return value(scrape(arbiter.metrics_url), "meshpipe_arbiter_granted_bytes", device="0")

        def holders() -> float:
            return value(scrape(arbiter.metrics_url), "meshpipe_arbiter_holders", device="0")

        def lost() -> float | None:
            assert stage.metrics_url is not None
            key = ("meshpipe_stage_model_lost_total", frozenset({("stage", "matting")}))
            return scrape(stage.metrics_url).get(key)  # None when not exported

        assert workers(stage) == [], "no worker before the first request"
        matte(stage)
        (worker,) = workers(stage)
        assert granted() == MODEL + CONTEXT
        unload(stage, common_pb2.MODEL_STATE_PARKED)
        assert workers(stage) == [worker], "a parked model keeps its worker"
        wait_for(lambda: granted() == CONTEXT, 5, "the parked stage charged its context only")
        unload(stage, common_pb2.MODEL_STATE_COLD)
        wait_for(lambda: not psutil.pid_exists(worker), 10, "the worker exiting")
        wait_for(lambda: granted() == 0, 5, "the context leaving the ledger")
        assert holders() == 1, "the stage's session stays open while it is cold"

        matte(stage)
        (second,) = workers(stage)
        assert second != worker and granted() == MODEL + CONTEXT
        assert lost() == 0, "a worker that exits on unload is not lost"
        os.kill(second, signal.SIGKILL)
        with pytest.raises(grpc.RpcError) as failed:
            matte(stage)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "model worker" in (failed.value.details() or "")
        assert "exited (signal 9)" in (failed.value.details() or "")
        wait_for(lambda: granted() == 0, 5, "a dead worker's lease and context given back")
        assert lost() == 1
        matte(stage)
        (third,) = workers(stage)
        assert third not in (worker, second) and granted() == MODEL + CONTEXT
