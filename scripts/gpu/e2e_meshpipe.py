"""Policy 'meshpipe' of the end-to-end benchmark: the whole system as local processes
(orchestrator with its embedded arbiter at the given budget, four stage processes, worker
mode as configured), every job submitted at once over gRPC."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psutil

from meshpipe.client import MeshpipeClient, job_options
from meshpipe.images import encode_png
from meshpipe.launcher.local import LocalSystem
from meshpipe.launcher.process import spawn
from meshpipe.v1 import common_pb2, stage_pb2, stage_pb2_grpc

HERE = Path(__file__).resolve().parent
GPU_STAGES = ("detector", "shape", "texture")


@dataclass
class BenchSystem(LocalSystem):
    """LocalSystem whose detector is the known-boxes detector (e2e_known_boxes.py)."""

    def _spawn(self, name: str, args: list[str]) -> None:
        if name != "detector":
            super()._spawn(name, args)
            return
        env = {**self.env, **self.child_env.get(name, {})}
        env = {**self._stage_env(name, {**os.environ, **env}), **env}
        argv = [self.python, str(HERE / "e2e_known_boxes.py"), *args]
        self.children[name] = spawn(name, argv, self.run_dir, env)


STAGGER_S = 0.1  # between submissions: the orchestrator sees them in the inputs' order


def submit_all(address: str, photos: list[Any], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Submit every photo at once (one thread each, STAGGER_S apart so that arrival order
    is submission order); per job: latency from the first submission, and outcome."""
    t0 = time.monotonic()

    def one(index_photo: tuple[int, Any]) -> dict[str, Any]:
        index, photo = index_photo
        time.sleep(index * STAGGER_S)
        notices: list[str] = []

        def on_event(event: Any) -> None:
            if event.WhichOneof("event") == "detections":
                notices.extend(event.detections.notices)

        with MeshpipeClient(address, timeout=900, max_message_bytes=256 << 20) as client:
            done = client.submit(
                encode_png(photo.image), options=job_options(**options), on_event=on_event
            )
        s = done.done.summary
        return {
            "name": photo.name,
            "objects": len(photo.boxes),
            "latency_s": time.monotonic() - t0,
            "succeeded": s.objects_succeeded,
            "failed": s.objects_failed,
            "error": s.error,
            "detector_notices": notices,
        }

    with ThreadPoolExecutor(len(photos)) as pool:
        return list(pool.map(one, enumerate(photos)))


def stage_status(address: str) -> dict[str, Any]:
    with grpc.insecure_channel(address) as channel:
        s = stage_pb2_grpc.StageAdminStub(channel).GetStatus(stage_pb2.GetStatusRequest())
    return {
        "state": common_pb2.ModelState.Name(s.state),
        "cold_loads": s.cold_loads,
        "wakes": s.wakes,
        "parks": s.parks,
        "unloads": s.unloads,
        "requests": s.requests,
    }


def unload_cold(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        request = stage_pb2.UnloadRequest(target=common_pb2.MODEL_STATE_COLD, wait_for_idle=True)
        stage_pb2_grpc.StageAdminStub(channel).Unload(request, timeout=120)


def tree_gpu_bytes(pid: int) -> int:
    """GPU memory NVML attributes to a process and its descendants (0 without NVML)."""
    from meshpipe.runtime.gpu import nvml_process_bytes

    pids = [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
    return sum(nvml_process_bytes(p) for p in pids)


def stage_memory(system: LocalSystem) -> dict[str, int]:
    return {s: tree_gpu_bytes(system.children[s].pid) for s in (*GPU_STAGES, "matting")}


def run(
    run_dir: Path, env: dict[str, str], orchestrator_env: dict[str, str], photos: list[Any],
    options: dict[str, Any], first: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """One meshpipe run: start, submit all, read the stages, unload them COLD, stop.
    `first`: a photo run through the system before the measured jobs (not measured)."""
    system = BenchSystem(
        run_dir / "run",
        run_dir / "out",
        env=env,
        child_env={"orchestrator": orchestrator_env},
        startup_timeout=600,
        python=sys.executable,
        supervise=False,
    )
    with system:
        warm_up = submit_all(system.orchestrator_address, [first], options) if first else []
        t_start = time.time()
        jobs = submit_all(system.orchestrator_address, photos, options)
        t_end = time.time()
        stages = {s: stage_status(system.addresses[s]) for s in (*GPU_STAGES, "matting")}
        after_run = stage_memory(system)
        for s in GPU_STAGES:
            unload_cold(system.addresses[s])
        time.sleep(2.0)
        cold = stage_memory(system)
    return {
        "t_start": t_start,
        "t_end": t_end,
        "jobs": jobs,
        "warm_up_jobs": warm_up,
        "stages": stages,
        "stage_nvml_after_run_bytes": after_run,
        "stage_nvml_cold_bytes": cold,
    }
