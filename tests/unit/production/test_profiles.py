"""Memory profiles: choice from the GPU's size, knobs applied only where not set."""

from __future__ import annotations

from typing import Any

import pytest

from meshpipe.profiles import (
    GIB,
    PROFILES,
    apply_profile,
    profile_for_vram,
    profile_named,
    resolve_profile,
)
from services.detector.settings import DetectorSettings
from services.shape.settings import ShapeSettings


@pytest.mark.parametrize(
    ("total_gib", "expected"),
    [
        (80.0, "high"),
        (23.6, "high"),  # what a "24 GB" card reports
        (15.7, "balanced"),
        (11.8, "medium"),
        (8.0, "low"),
        (6.0, "minimal"),
        (4.0, "minimal"),
    ],
)
def test_profile_for_vram(total_gib: float, expected: str) -> None:
    assert profile_for_vram(int(total_gib * GIB)).name == expected


def test_names_numbers_auto_and_none() -> None:
    assert profile_named("3").name == "medium"
    assert profile_named(" Low ").number == 4
    assert resolve_profile("none", 80 * GIB) is None
    assert resolve_profile("auto", 0) is None  # no GPU: backends keep their own defaults
    assert resolve_profile("auto", 10 * GIB).name == "low"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown memory profile"):
        profile_named("turbo")


def test_profiles_shrink_estimates_as_they_go_down() -> None:
    for stage, key in (("shape", "v2-mini"), ("shape", "v2-0"), ("detector", "2b")):
        estimates = [p.stage(stage).footprint_bytes(key) for p in PROFILES]
        assert all(e > 0 for e in estimates)
        assert estimates == sorted(estimates, reverse=True), (stage, key, estimates)
    for profile in PROFILES:  # every model a profile sizes fits the GPUs it is meant for
        for stage in ("detector", "matting", "shape"):
            assert max(profile.stage(stage).footprints_gib.values()) <= profile.min_vram_gib
        assert not profile.stage("texture").footprints_gib, "texture sizes its own lease"


def test_apply_fills_only_unset_knobs() -> None:
    values: dict[str, Any] = {"octree_resolution": 200}
    explicit = ShapeSettings(**values)
    shaped = apply_profile(explicit, "shape", profile_named("minimal"))
    assert shaped.octree_resolution == 200  # the operator's choice wins
    assert (shaped.offload, shaped.num_chunks, shaped.dtype) == ("sequential", 4000, "float16")
    assert not hasattr(shaped, "render_size")  # texture knobs do not leak into other stages
    assert explicit.offload == "none"  # a copy: the original is untouched


def test_apply_detector_knobs_and_none_profile() -> None:
    settings = DetectorSettings(**{})
    assert apply_profile(settings, "detector", None) is settings
    assert apply_profile(settings, "detector", profile_named("low")).max_pixels == 512 * 32 * 32
