"""Quality profiles of a job: named defaults for the knobs a job leaves at 0."""

from __future__ import annotations

from meshpipe.errors import InvalidInput, preview
from orchestrator.domain import JobOptions

# Knob values per profile; 0 keeps the stage's own default. "standard" changes nothing.
PROFILES: dict[str, dict[str, int]] = {
    "draft": {"steps": 10, "octree_resolution": 64, "texture_size": 512},
    "standard": {},
    "high": {"steps": 50, "octree_resolution": 384, "texture_size": 2048},
}
DEFAULT_PROFILE = "standard"


def apply_quality(options: JobOptions, profile: str) -> JobOptions:
    """`options` with the profile's values in every knob the job left at 0."""
    name = profile or DEFAULT_PROFILE
    if name not in PROFILES:
        raise InvalidInput(
            f"options.quality={preview(profile)} is unknown; expected one of {', '.join(PROFILES)}",
            "options.quality",
        )
    updates = {k: v for k, v in PROFILES[name].items() if not getattr(options, k)}
    return options.model_copy(update={"quality": name, **updates})
