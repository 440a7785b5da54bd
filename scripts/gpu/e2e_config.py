"""One configuration for both policies of the end-to-end benchmark: the same models,
inputs, steps and seeds, as the stage settings' environment variables (MESHPIPE_<STAGE>_*),
which the stage processes and the load-per-request script read alike.

`mode="gpu"`: the production backends on CUDA, random weights on the real architectures
(Qwen3-VL-2B, Hunyuan3D-DiT v2-mini or v2-0, Hunyuan3D-Paint) and rembg u2netp (real
weights, onnxruntime on the CPU). `mode="sim"`: the embedded backends on a simulated device
(meshpipe/runtime/simdevice.py) with the GPU run's footprints, for testing the benchmark
on a machine without a GPU.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

GIB = 1 << 30
MAX_MESSAGE = 256 << 20
# The stages' own lease estimates (model + activations) at the configured profiles: what
# each asked for first in the H100 runs (detector 2b high, v2-mini balanced, paint high).
# Given to the arbiter as `estimates` (docs/scheduling.md), the scheduler knows every
# footprint before any stage has loaded: it batches or loads ahead from the first job.
# Sim mode's simulated footprints are the same.
ESTIMATES = {"detector": "4.5GiB", "shape": "5.5GiB", "texture": "10.48GiB"}
SIM_BYTES = ESTIMATES


@dataclass
class BenchConfig:
    mode: str = "gpu"  # gpu | sim
    models: str = "/tmp/meshpipe-e2e-models"
    u2net_dir: str = "~/.u2net"
    variant: str = "v2-mini"
    objects: list[int] = field(default_factory=lambda: [1, 2, 3])
    seed: int = 1234
    shape_steps: int = 10
    octree_resolution: int = 0  # 0: the shape profile's
    shape_profile: str = "balanced"
    max_faces: int = 10_000  # the shape stage's decimation bound (paint time grows with it)
    paint_profile: str = "high"
    paint_views: int = 4
    paint_size: int = 1024
    paint_steps: int = 10  # delight and multiview each
    detector_tokens: int = 128
    worker_mode: str = "subprocess"
    sim_load_seconds: float = 0.5
    known_boxes: str = ""

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> BenchConfig:
        return cls(**json.loads(path.read_text()))


def stage_values(config: BenchConfig) -> dict[str, dict[str, str]]:
    """Per stage: settings field (upper case) -> value."""
    if config.mode == "sim":
        return _sim_values(config)
    models = Path(config.models)
    common = {"DEVICE": "cuda", "MAX_MESSAGE_BYTES": str(MAX_MESSAGE)}
    return {
        "detector": {
            **common,
            "BACKEND": "qwen-vl",
            "QWEN_MODEL": str(models / "Qwen3-VL-2B-random"),
            "MAX_NEW_TOKENS": str(config.detector_tokens),
            "MEMORY_PROFILE": "high",
        },
        "matting": {
            "MAX_MESSAGE_BYTES": str(MAX_MESSAGE),
            "BACKEND": "rembg",
            "MODEL": "u2netp",
            "WEIGHTS_DIR": str(Path(config.u2net_dir).expanduser()),
        },
        "shape": {
            **common,
            "BACKEND": "hunyuan3d",
            "HUNYUAN_VARIANT": config.variant,
            "MODELS_DIR": str(models / "hy3dgen"),
            "MEMORY_PROFILE": config.shape_profile,
            "MAX_FACES": str(config.max_faces),
        },
        "texture": {**common, "BACKEND": "hunyuan-paint", **_paint_values(config)},
    }


def _paint_values(config: BenchConfig) -> dict[str, str]:
    return {
        "PAINT": json.dumps({"views": config.paint_views}),
        "PAINT__MODELS_DIR": str(Path(config.models) / "paint"),
        "PAINT__PAINT_PROFILE": config.paint_profile,
        "PAINT__RENDER_SIZE": str(config.paint_size),
        "PAINT__TEXTURE_SIZE": str(config.paint_size),
        "PAINT__DELIGHT_STEPS": str(config.paint_steps),
        "PAINT__MULTIVIEW_STEPS": str(config.paint_steps),
    }


def _sim_values(config: BenchConfig) -> dict[str, dict[str, str]]:
    values: dict[str, dict[str, str]] = {}
    for stage in ("detector", "matting", "shape", "texture"):
        values[stage] = {"BACKEND": "embedded", "MAX_MESSAGE_BYTES": str(MAX_MESSAGE)}
        if stage in SIM_BYTES:
            values[stage]["SIM_DEVICE_BYTES"] = SIM_BYTES[stage]
            values[stage]["SIM_LOAD_SECONDS"] = str(config.sim_load_seconds)
    return values


def stage_env(config: BenchConfig, policy: str) -> dict[str, str]:
    """MESHPIPE_<STAGE>_* of every stage (the load-per-request script reads them all)."""
    env: dict[str, str] = {}
    for stage, values in stage_values(config).items():
        prefix = f"MESHPIPE_{stage.upper()}_"
        env.update({prefix + key: value for key, value in values.items()})
        if policy == "meshpipe" and stage != "matting":  # matting runs on the CPU
            env[prefix + "WORKER_MODE"] = config.worker_mode
    env["MESHPIPE_E2E_KNOWN_BOXES"] = config.known_boxes
    return env


def orchestrator_env(config: BenchConfig, budget: int, estimates: bool = False) -> dict[str, str]:
    """The orchestrator and its embedded arbiter: the budget, NVML or the simulated device;
    with `estimates`, the arbiter's starting footprints (ESTIMATES)."""
    prefix = "MESHPIPE_ORCHESTRATOR_"
    env = {
        prefix + "MAX_MESSAGE_BYTES": str(MAX_MESSAGE),
        prefix + "ARBITER__BUDGET_BYTES": str(budget),
    }
    if estimates:
        env[prefix + "ARBITER__ESTIMATES"] = json.dumps(ESTIMATES)
    if config.mode == "sim":
        env[prefix + "ARBITER__DEVICE_KIND"] = "simulated"
        env[prefix + "ARBITER__SIM_CAPACITY_BYTES"] = str(80 * GIB)
    return env


def job_options_values(config: BenchConfig) -> dict[str, Any]:
    """The JobOptions both policies use (meshpipe.client.job_options keywords)."""
    return {
        "seed": config.seed,
        "steps": config.shape_steps,
        "octree_resolution": config.octree_resolution,
    }
