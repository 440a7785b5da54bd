"""Names of the stages and where their specs live (imported lazily: a stage's heavy
dependencies are only imported by the process that serves it)."""

from __future__ import annotations

import importlib

from meshpipe.runtime.server import StageSpec

STAGES = ("detector", "matting", "shape", "texture")


def load_spec(stage: str) -> StageSpec:
    """The StageSpec of a stage, from services/<stage>/service.py."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    module = importlib.import_module(f"services.{stage}.service")
    spec: StageSpec = module.SPEC
    return spec
