"""End-to-end benchmark: meshpipe against the load-per-request tool on one GPU.

Same models, inputs, steps and seeds for both policies (e2e_config.py). For each budget,
meshpipe runs as the whole system (orchestrator + embedded arbiter at that budget + four
stage processes, worker mode on), every job submitted at once over gRPC
(e2e_meshpipe.py); the load-per-request tool runs once, as one process (e2e_baseline.py).
A separate sampler process (e2e_sampler.py) records NVML every 50 ms during each run.
Raw results go to `<out>/raw.json` and `<out>/samples_<run>.jsonl`;
`python -m benchmarks.e2e_report <out>` turns them into the tables and the plot.

    python -m scripts.gpu.e2e_bench --out /tmp/e2e --budgets 24 --policies meshpipe,load-per-request
    python -m scripts.gpu.e2e_bench --mode sim --out /tmp/e2e-sim --objects 1,2 --budgets 24,16

GPU mode builds the random-weight models into --models (kept for later runs).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GIB = 1 << 30
WARMUP_NAME = "job-warmup"  # a 1-object photo run by the tool before any measured run


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def build_models(config: Any) -> None:
    """Random weights on the real architectures, built once into config.models."""
    from scripts.gpu import random_models
    from tests.support.random_paint_weights import build_models as build_paint

    models = Path(config.models)
    qwen = models / "Qwen3-VL-2B-random"
    if not (qwen / "config.json").is_file():
        random_models.build_qwen(qwen)
        say(f"built {qwen}")
    repo, sub = random_models.HUNYUAN[config.variant][:2]
    if not (models / "hy3dgen" / repo / sub / "config.yaml").is_file():
        random_models.build_hunyuan(models / "hy3dgen", config.variant)
        say(f"built hunyuan3d {config.variant}")
    if not (models / "paint" / "built").is_file():
        from meshpipe.torchcompat import ensure_torchvision

        ensure_torchvision()
        build_paint(models / "paint", scale="real", half=True)
        (models / "paint" / "built").write_text("ok")
        say("built hunyuan3d-paint")


def prepare(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    from scripts.gpu.e2e_config import BenchConfig
    from scripts.gpu.e2e_inputs import make_photo, make_photos, write_known_boxes

    out = Path(args.out)
    (out / "photos").mkdir(parents=True, exist_ok=True)
    objects = [int(k) for k in args.objects.split(",")]
    config = BenchConfig(mode=args.mode, models=args.models, variant=args.variant, objects=objects)
    config.u2net_dir = args.u2net_dir
    config.known_boxes = str(out / "known_boxes.json")
    for name in ("shape_steps", "octree_resolution", "paint_steps", "paint_size", "max_faces"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    photos = make_photos(objects, config.seed)
    for photo in photos:
        photo.image.save(out / "photos" / f"{photo.name}.png")
    warm = make_photo(WARMUP_NAME, 1, config.seed - 1)
    (out / "warmup").mkdir(exist_ok=True)
    warm.image.save(out / "warmup" / f"{warm.name}.png")
    write_known_boxes([*photos, warm], Path(config.known_boxes))
    config.save(out / "config.json")
    return config, photos


class Sampler:
    """The sampler process for one run."""

    def __init__(self, path: Path) -> None:
        command = [sys.executable, str(HERE / "e2e_sampler.py"), "--out", str(path)]
        self.process = subprocess.Popen(command)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


def run_meshpipe(
    config: Any, photos: list[Any], budget_gib: float, out: Path, warm: bool = False,
    estimates: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """One meshpipe run. `warm`: a 1-object job goes through the system first (not
    measured: every stage loaded, its peak learned), then the measured jobs: the steady
    state of a running system, apart from its cold start. `estimates`: the arbiter starts
    with the stages' footprints (e2e_config.ESTIMATES) instead of learning them."""
    from PIL import Image

    from scripts.gpu import e2e_meshpipe
    from scripts.gpu.e2e_config import job_options_values, orchestrator_env, stage_env
    from scripts.gpu.e2e_inputs import Photo

    name = f"meshpipe_{budget_gib:g}" + ("_warm" if warm else "") + ("_est" if estimates else "")
    first = None
    if warm:
        path = out / "warmup" / f"{WARMUP_NAME}.png"
        first = Photo(WARMUP_NAME, Image.open(path).copy(), [(0, 0, 1, 1)])
    sampler = Sampler(out / f"samples_{name}.jsonl")
    try:
        result = e2e_meshpipe.run(
            out / name,
            stage_env(config, "meshpipe"),
            orchestrator_env(config, int(budget_gib * GIB), estimates),
            photos,
            job_options_values(config),
            first,
        )
    finally:
        sampler.stop()
    return {"run": name, "policy": "meshpipe", "budget_bytes": int(budget_gib * GIB), **result}


def tool(config: Any, out: Path, photos: Path, name: str) -> dict[str, Any]:
    """The load-per-request script on every photo of `photos`; its result JSON."""
    from scripts.gpu.e2e_config import stage_env

    env = {**os.environ, **stage_env(config, "load-per-request"), "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable, str(HERE / "e2e_baseline.py"), "--config", str(out / "config.json"),
        "--photos", str(photos), "--out", str(out / f"{name}.json"),
    ]  # fmt: skip
    with (out / f"{name}.log").open("wb") as log:
        subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    result: dict[str, Any] = json.loads((out / f"{name}.json").read_text())
    return result


def run_baseline(config: Any, out: Path) -> dict[str, Any]:
    name = "load-per-request"
    sampler = Sampler(out / f"samples_{name}.jsonl")
    try:
        result = tool(config, out, out / "photos", name)
    finally:
        sampler.stop()
    return {"run": name, "policy": name, **result}


def warm_up(config: Any, out: Path) -> None:
    """One 1-object job through the tool, not measured: the one-time costs of a fresh
    machine (first imports that write .pyc files, the page cache of the weights, the
    driver's first context) fall on neither policy's measured runs."""
    t0 = time.monotonic()
    tool(config, out, out / "warmup", "warmup")
    say(f"warm-up job (not measured): {time.monotonic() - t0:.0f} s")


def environment(mode: str) -> dict[str, Any]:
    """Versions and the GPU, read without a CUDA context (NVML)."""
    from importlib.metadata import PackageNotFoundError, version

    info: dict[str, Any] = {"mode": mode, "python": sys.version.split()[0]}
    try:
        info["torch"] = version("torch")
    except PackageNotFoundError:
        info["torch"] = None
    info["gpu"] = "cpu (simulated device)"
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        name = pynvml.nvmlDeviceGetName(handle)
        info["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
        info["gpu_total_bytes"] = int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)
        info["driver"] = str(pynvml.nvmlSystemGetDriverVersion())
    except Exception:  # no NVML: a CPU machine
        pass
    return info


def earlier_runs(path: Path, config: Any) -> list[dict[str, Any]]:
    """Runs an earlier call saved in the same folder with the same configuration (a
    time-limited GPU machine splits the runs over several calls); a repeated run replaces
    its earlier result."""
    if not path.is_file():
        return []
    earlier: dict[str, Any] = json.loads(path.read_text())
    if earlier.get("config") != vars(config):
        raise SystemExit(f"{path} holds runs of another configuration: use another --out")
    runs: list[dict[str, Any]] = earlier["runs"]
    return runs


def append_run(raw: dict[str, Any], run: dict[str, Any]) -> None:
    raw["runs"] = [r for r in raw["runs"] if r["run"] != run["run"]] + [run]


def save(out: Path, raw: dict[str, Any]) -> None:
    (out / "raw.json").write_text(json.dumps(raw, indent=1))


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]  # for the child scripts
    )
    config, photos = prepare(args)
    out = Path(args.out)
    if args.build_only:
        build_models(config)
        return 0
    if args.mode == "gpu":  # in a process of its own: this one must hold no GPU memory
        t0 = time.monotonic()
        subprocess.run([sys.executable, __file__, *argv, "--build-only"], check=True)
        say(f"models ready in {time.monotonic() - t0:.0f} s")
    raw: dict[str, Any] = {"environment": environment(args.mode), "config": vars(config)}
    raw["runs"] = earlier_runs(out / "raw.json", config)
    policies = args.policies.split(",")
    if args.warmup:
        warm_up(config, out)
    for budget in [float(b) for b in args.budgets.split(",")]:
        if "meshpipe" in policies:
            t0 = time.monotonic()
            run = run_meshpipe(config, photos, budget, out, args.meshpipe_warm, args.estimates)
            append_run(raw, run)
            save(out, raw)
            say(f"meshpipe at {budget:g} GiB: {time.monotonic() - t0:.0f} s")
    if "load-per-request" in policies:
        t0 = time.monotonic()
        append_run(raw, run_baseline(config, out))
        save(out, raw)
        say(f"load-per-request: {time.monotonic() - t0:.0f} s")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["gpu", "sim"], default="gpu")
    parser.add_argument("--out", required=True)
    parser.add_argument("--models", default="/tmp/meshpipe-e2e-models")
    parser.add_argument("--u2net-dir", default="~/.u2net")
    parser.add_argument("--variant", default="v2-mini", choices=["v2-mini", "v2-0"])
    parser.add_argument("--objects", default="1,2,3", help="objects per job (one job each)")
    parser.add_argument("--budgets", default="24", help="GiB, comma-separated")
    parser.add_argument("--policies", default="meshpipe,load-per-request")
    parser.add_argument("--shape-steps", type=int, help="both policies (default 10)")
    parser.add_argument("--octree-resolution", type=int, help="0: the shape profile's")
    parser.add_argument("--paint-steps", type=int, help="delight and multiview each (10)")
    parser.add_argument("--paint-size", type=int, help="render and texture px (1024)")
    parser.add_argument("--max-faces", type=int, help="shape decimation bound (10000)")
    parser.add_argument("--warmup", action="store_true", help="one unmeasured tool job first")
    parser.add_argument(
        "--estimates", action="store_true", help="runs meshpipe_<budget>_est: the arbiter "
        "starts with the stages' footprints (as docs/scheduling.md advises)",
    )  # fmt: skip
    parser.add_argument(
        "--meshpipe-warm", action="store_true", help="runs meshpipe_<budget>_warm: one "
        "unmeasured job through the running system before the measured ones",
    )  # fmt: skip
    parser.add_argument("--build-only", action="store_true", help="build the models, exit")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
