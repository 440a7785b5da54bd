"""Memory profiles: one name that sets every stage's dtype, offload and resolution knobs and
its starting lease estimate, in the spirit of Hunyuan3D-2GP's (mmgp) profiles 1-5.

A stage's `memory_profile` setting names a profile ("high", "balanced", "medium", "low",
"minimal", or its number 1-5), "auto" (pick from the GPU's memory) or "none" (settings as
given). A profile only fills the knobs the operator did not set explicitly, and only on
production backends; the estimates are starting points that the runtime replaces with the
learned peak after the first request (docs/design.md §Stage lifecycle).

Estimates are the model's lease size: peak *reserved* memory while serving, i.e. the
model's weights plus its activation peak, WITHOUT the process's CUDA context (617 MiB
measured), which the arbiter adds once per process (docs/arbiter.md, "Accounting"). They
come from `scripts/gpu/backends_bench.py`: the real architectures with random weights run
through the stage services on an H200 (`benchmarks/results/gpu/`, docs/backends.md).
Where a configuration was not measured, the comment next to it says what bounds it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

log = logging.getLogger(__name__)

GIB = 1 << 30
S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class StageProfile:
    """What a profile sets for one stage."""

    knobs: Mapping[str, Any] = field(default_factory=dict)
    # model key -> GiB of model bytes + activation peak (peak reserved), no CUDA context
    footprints_gib: Mapping[str, float] = field(default_factory=dict)

    def footprint_bytes(self, model_key: str) -> int:
        """Lease estimate for a model of this stage (model + activation peak, the context
        excluded), bytes; 0 when the profile does not size that model (the backend's own
        estimate applies)."""
        gib = self.footprints_gib.get(model_key, self.footprints_gib.get("default", 0.0))
        return int(gib * GIB)


@dataclass(frozen=True)
class MemoryProfile:
    """A named set of per-stage knobs for GPUs with at least `min_vram_gib` of memory."""

    name: str
    number: int
    min_vram_gib: float
    description: str
    stages: Mapping[str, StageProfile]

    def stage(self, name: str) -> StageProfile:
        return self.stages.get(name, StageProfile())


def _gib(**by_model: float) -> dict[str, float]:
    return {k.replace("_", "-"): v for k, v in by_model.items()}


# Measured (H200, random weights; peak reserved = weights + activations, no context): detector 2b
# 4.29-4.37 GiB at every profile (weights dominate); BiRefNet 2.32 / 1.48 / 0.94 GiB at
# 1024 / 768 / 512 px; v2-mini 9.07 high, 5.27 balanced, 2.40 medium and low, 2.52 minimal
# (medium/low are set to minimal's figure, so that a lower profile never asks for more);
# v2-0 10.53 high, 6.63 balanced, 2.85 medium and low, 2.81 minimal. Not measured: rembg
# on onnxruntime-gpu (1.0 / 0.8 GiB are u2net-sized guesses), Qwen3-VL 4b/8b (bf16 weight
# sizes plus the 2b's activations).
PROFILES: tuple[MemoryProfile, ...] = (
    MemoryProfile(
        "high",
        1,
        24.0,
        "24 GB+: every model resident in half precision, no offload, largest resolutions",
        {
            "detector": StageProfile(
                {"dtype": "auto", "max_pixels": 1280 * 32 * 32},
                _gib(**{"2b": 4.5, "4b": 10.0, "8b": 19.0}),
            ),
            "matting": StageProfile(
                {"dtype": "float16", "birefnet_resolution": 1024}, _gib(birefnet=2.35, rembg=1.0)
            ),
            "shape": StageProfile(
                {
                    "dtype": "float16",
                    "offload": "none",
                    "octree_resolution": 384,
                    "num_chunks": 200_000,
                },
                _gib(v2_mini=9.3, v2_0=10.8),
            ),
        },
    ),
    MemoryProfile(
        "balanced",
        2,
        16.0,
        "16 GB+: resident models, moderate resolutions, texture models loaded one at a time",
        {
            "detector": StageProfile(
                {"dtype": "auto", "max_pixels": 1024 * 32 * 32},
                _gib(**{"2b": 4.5, "4b": 9.6}),
            ),
            "matting": StageProfile(
                {"dtype": "float16", "birefnet_resolution": 1024}, _gib(birefnet=2.35, rembg=1.0)
            ),
            "shape": StageProfile(
                {
                    "dtype": "float16",
                    "offload": "none",
                    "octree_resolution": 256,
                    "num_chunks": 50_000,
                },
                _gib(v2_mini=5.5, v2_0=6.7),
            ),
        },
    ),
    MemoryProfile(
        "medium",
        3,
        12.0,
        "12 GB+: shape components moved to the GPU one at a time, smaller detector input",
        {
            "detector": StageProfile(
                {"dtype": "auto", "max_pixels": 768 * 32 * 32},
                _gib(**{"2b": 4.5, "4b": 9.3}),
            ),
            "matting": StageProfile(
                {"dtype": "float16", "birefnet_resolution": 1024}, _gib(birefnet=2.35, rembg=1.0)
            ),
            "shape": StageProfile(
                {
                    "dtype": "float16",
                    "offload": "model",
                    "octree_resolution": 256,
                    "num_chunks": 20_000,
                },
                _gib(v2_mini=2.55, v2_0=2.9),
            ),
        },
    ),
    MemoryProfile(
        "low",
        4,
        8.0,
        "8 GB+: model offload everywhere it exists, reduced resolutions",
        {
            "detector": StageProfile(
                {"dtype": "auto", "max_pixels": 512 * 32 * 32}, _gib(**{"2b": 4.5})
            ),
            "matting": StageProfile(
                {"dtype": "float16", "birefnet_resolution": 768}, _gib(birefnet=1.5, rembg=0.8)
            ),
            "shape": StageProfile(
                {
                    "dtype": "float16",
                    "offload": "model",
                    "octree_resolution": 256,
                    "num_chunks": 8_000,
                },
                _gib(v2_mini=2.55, v2_0=2.9),
            ),
        },
    ),
    MemoryProfile(
        "minimal",
        5,
        6.0,
        "6 GB+: sequential (layer by layer) offload, smallest resolutions; slowest",
        {
            "detector": StageProfile(
                {"dtype": "auto", "max_pixels": 256 * 32 * 32}, _gib(**{"2b": 4.5})
            ),
            "matting": StageProfile(
                {"dtype": "float16", "birefnet_resolution": 512}, _gib(birefnet=0.95, rembg=0.8)
            ),
            "shape": StageProfile(
                {
                    "dtype": "float16",
                    "offload": "sequential",
                    "octree_resolution": 192,
                    "num_chunks": 4_000,
                },
                _gib(v2_mini=2.55, v2_0=2.85),
            ),
        },
    ),
)


def profile_named(name: str) -> MemoryProfile:
    """A profile by name or number ("medium" or "3")."""
    for profile in PROFILES:
        if name.strip().lower() in (profile.name, str(profile.number)):
            return profile
    known = ", ".join(f"{p.number}/{p.name}" for p in PROFILES)
    raise ValueError(f"unknown memory profile {name!r}; known: {known}, auto, none")


def profile_for_vram(total_bytes: int) -> MemoryProfile:
    """The most generous profile whose minimum the GPU meets (the smallest one below 6 GB)."""
    for profile in PROFILES:
        if total_bytes >= profile.min_vram_gib * GIB * 0.97:  # "24 GB" cards report ~23.6 GiB
            return profile
    return PROFILES[-1]


def resolve_profile(name: str, total_vram_bytes: int | None) -> MemoryProfile | None:
    """The profile a `memory_profile` setting selects; None for "none" or "auto" on no GPU."""
    key = name.strip().lower()
    if key in ("", "none", "off"):
        return None
    if key == "auto":
        return profile_for_vram(total_vram_bytes) if total_vram_bytes else None
    return profile_named(key)


def apply_profile(settings: S, stage: str, profile: MemoryProfile | None) -> S:
    """A copy of `settings` with the profile's knobs filled in where the operator set none."""
    if profile is None:
        return settings
    knobs = profile.stage(stage).knobs
    fields = type(settings).model_fields
    updates = {
        key: value
        for key, value in knobs.items()
        if key in fields and key not in settings.model_fields_set
    }
    if updates:
        log.info("%s: memory profile %s sets %s", stage, profile.name, updates)
    return settings.model_copy(update=updates)


def device_total_bytes(device: str) -> int:
    """Total memory of a CUDA device ("cuda", "cuda:1"), 0 when there is none."""
    if not device.startswith("cuda"):
        return 0
    try:
        import torch
    except ImportError:
        return 0
    if not torch.cuda.is_available():
        return 0
    index = int(device.split(":", 1)[1]) if ":" in device else 0
    return int(torch.cuda.get_device_properties(index).total_memory)
