"""Costs the simulator charges, each with its source (docs/design.md §Measured physics measurements,
published figures, or a labelled assumption)."""

from __future__ import annotations

from dataclasses import dataclass

from meshpipe.catalogue import STAGES
from orchestrator.arbiter.ledger import CUDA_CONTEXT_BYTES, GIB, lease_need

# Pipeline order, from the stage catalogue; the first stage works on the photo, the others
# on each object it found.
STAGE_ORDER = STAGES


@dataclass(frozen=True)
class StagePhysics:
    """One stage's model on the GPU."""

    name: str
    peak_bytes: int  # lease footprint: peak reserved while serving, excluding the context
    weights_bytes: int  # what a park / wake moves between pinned host RAM and the device
    run_seconds: float  # one item (image or object), warm
    max_batch: int = 8
    grouped: bool = False  # a batch is one model call (shape's GenerateShapeBatch)


@dataclass(frozen=True)
class Physics:
    """The stages plus the per-process and per-transition costs."""

    stages: tuple[StagePhysics, ...]
    cold_load_seconds: float
    context_bytes: int = CUDA_CONTEXT_BYTES
    park_seconds_per_gib: float = 1.751 / 4.59
    wake_seconds_per_gib: float = 0.223 / 4.59

    def stage(self, name: str) -> StagePhysics:
        return next(s for s in self.stages if s.name == name)

    def park_seconds(self, name: str) -> float:
        return self.stage(name).weights_bytes / GIB * self.park_seconds_per_gib

    def wake_seconds(self, name: str) -> float:
        return self.stage(name).weights_bytes / GIB * self.wake_seconds_per_gib

    def lease_bytes(self, name: str) -> int:
        return lease_need(self.stage(name).peak_bytes, self.context_bytes, False)


def production_physics(cold_load_seconds: float) -> Physics:
    """The production models of docs/design.md §Pipeline on an H200-class GPU."""
    return Physics(
        stages=(
            StagePhysics("detector", int(5.0 * GIB), int(4.0 * GIB), 1.5),
            StagePhysics("matting", int(3.26 * GIB), int(0.42 * GIB), 0.3),
            StagePhysics("shape", int(10.07 * GIB), int(4.59 * GIB), 6.45, grouped=True),
            StagePhysics("texture", int(10.0 * GIB), int(5.0 * GIB), 21.0),
        ),
        cold_load_seconds=cold_load_seconds,
    )


# (quantity, value, source): printed with every run and copied into docs/scheduling.md.
ASSUMPTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "GPU",
        "one device; compute, loads, parks and wakes run one at a time",
        "assumption (conservative: no load/compute overlap)",
    ),
    (
        "CUDA context per stage process",
        "617 MiB, charged from first load until exit",
        "measured, docs/design.md §Measured physics",
    ),
    (
        "shape: Hunyuan3D-DiT v2-0",
        "peak reserved 10.07 GiB, weights 4.59 GiB, 6.45 s/object",
        "measured (random weights, H200, 30 steps, octree 256), docs/design.md §Measured physics",
    ),
    (
        "park / wake",
        "0.381 s/GiB / 0.049 s/GiB of weights (pinned host RAM)",
        "measured on v2-0 (1.75 s / 0.22 s for 4.59 GiB), docs/design.md §Measured physics",
    ),
    (
        "texture: Hunyuan3D-2 Paint",
        "peak 10.0 GiB",
        "published: shape+texture 16 GB vs shape 6 GB (Hunyuan3D-2 README), docs/design.md §Prior art",
    ),
    (
        "texture run time",
        "21 s/object",
        "derived: ~60 s shape+texture with 14 s shape on an RTX 4090 (Hunyuan3D-2 issue #352) scaled by the measured H200 shape time ratio 6.45/14",
    ),
    ("texture weights", "5.0 GiB", "assumption (delight + multiview UNets, fp16)"),
    (
        "detector: Qwen3-VL-2B",
        "weights 4.0 GiB, peak 5.0 GiB",
        "published 4.3 GB bf16 weights (docs/design.md §Prior art) + 1 GiB activations/KV (assumption)",
    ),
    ("detector run time", "1.5 s/image", "assumption (~100 JSON tokens from a 2B model)"),
    (
        "matting: BiRefNet 1024x1024 fp16",
        "peak 3.26 GiB, weights 0.42 GiB, 0.3 s/crop",
        "published 3.5 GB VRAM (docs/design.md §Prior art); weights and time: assumption",
    ),
    (
        "cold load",
        "5 / 15 / 40 s per stage (varied)",
        "published from_pretrained 10-60 s, docs/design.md §Measured physics, §Prior art",
    ),
    (
        "batched model call",
        "n items cost n x one item",
        "assumption (conservative: batching only amortises swaps)",
    ),
    (
        "when an item of a batch is done",
        "shape: when the batch's one GenerateShapeBatch call ends; other stages: when its own "
        "call ends (a batch's calls run one after another)",
        "orchestrator/dispatch.py (only shape's sender takes a batch as one call)",
    ),
    (
        "first request after a load",
        "not modelled (warm-up cost ignored for every policy)",
        "assumption (favours (a), which reloads most)",
    ),
    (
        "(a) sequential seed script",
        "one process, jobs one at a time, load -> all crops -> unload per stage",
        "docs/design.md §Purpose",
    ),
    (
        "(b) everything resident",
        "one process per stage, each loaded once, never evicted",
        "task definition",
    ),
    (
        "(c) meshpipe",
        "LeaseCore (min residency 10 s, LRU reclaim, park to pinned RAM, unload after 600 s parked, stage processes exit when asked) + choose_next_batch (age bound 120 s, job order: due time = arrival + 30 s x objects, aging 120 s)",
        "orchestrator/arbiter/core.py, orchestrator/policy.py",
    ),
)
