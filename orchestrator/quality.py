"""Quality presets of a job: named values for the stage knobs a job leaves at 0.

A *quality preset* (the job's `options.quality`: draft, standard, high) is a job-level
choice of how much work each object gets. It is not a *memory profile* (meshpipe.profiles:
how a stage process fits its model into a GPU of a given size) nor a *paint profile*
(services/texture/paint/settings.py: the memory profile's settings for the texture model).
Every value here lies in the knob table's range (meshpipe.options; a test checks it).
"""

from __future__ import annotations

from meshpipe.errors import InvalidInput, preview
from orchestrator.domain import JobOptions

# Knob values per preset; a knob not named keeps the stage's own default.
QUALITY_PRESETS: dict[str, dict[str, int]] = {
    "draft": {"steps": 10, "octree_resolution": 64, "texture_size": 512},
    "standard": {},
    "high": {"steps": 50, "octree_resolution": 384, "texture_size": 2048},
}
DEFAULT_QUALITY_PRESET = "standard"


def apply_quality(options: JobOptions, preset: str) -> JobOptions:
    """`options` with the quality preset's values in every knob the job left at 0."""
    name = preset or DEFAULT_QUALITY_PRESET
    if name not in QUALITY_PRESETS:
        raise InvalidInput(
            f"options.quality={preview(preset)} is unknown; expected one of {', '.join(QUALITY_PRESETS)}",
            "options.quality",
        )
    updates = {k: v for k, v in QUALITY_PRESETS[name].items() if not getattr(options, k)}
    return options.model_copy(update={"quality": name, **updates})
