"""The stages' specs, found through the stage catalogue (imported lazily: a stage's heavy
dependencies are only imported by the process that serves it)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from meshpipe import catalogue
from meshpipe.runtime.server import StageSpec


def load_spec(stage: str) -> StageSpec:
    """The StageSpec of a stage, from its catalogue entry's spec module."""
    module = importlib.import_module(catalogue.stage(stage).spec_module)
    spec: StageSpec = module.SPEC
    return spec


def build_backend_from(stage: str, settings: Any, backends: Mapping[str, str], base: type) -> Any:
    """Instantiate the backend that `settings.backend` names in `backends` (name ->
    "module:Class", imported only now). `auto` resolves to the stage's production backend
    when its weights and a GPU are present, else the embedded default."""
    from meshpipe.weights import auto_backend

    name = auto_backend(stage, settings) if settings.backend == "auto" else settings.backend
    target = backends.get(name)
    if target is None:
        known = ", ".join(sorted(backends))
        raise ValueError(f"unknown {stage} backend {settings.backend!r} (known: auto, {known})")
    module_name, class_name = target.split(":")
    backend = getattr(importlib.import_module(module_name), class_name)(settings)
    if not isinstance(backend, base):
        raise TypeError(f"{target} is not a {base.__name__}")  # a wrong registry entry
    return backend
