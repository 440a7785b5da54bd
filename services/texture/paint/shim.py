"""Choosing the rasteriser hy3dgen's ``MeshRender`` uses: the compiled extension or ours.

``MeshRender.__init__`` runs ``import custom_rasterizer`` and keeps the module as
``self.raster``; it then calls only ``rasterize`` and ``interpolate``. When the compiled
extension is absent (or does not import), ``prepare_rasterizer`` registers this package's
rasteriser module under that name, at backend load time, never at import time, and tells
the backend which module to put in ``MeshRender.raster``.
"""

from __future__ import annotations

import importlib
import logging
import sys
from types import ModuleType
from typing import Literal

from meshpipe.errors import FailedPrecondition
from services.texture.paint import rasterizer

log = logging.getLogger(__name__)

MODULE_NAME = "custom_rasterizer"
RasterizerChoice = Literal["auto", "torch", "extension"]


def load_extension() -> ModuleType | None:
    """The compiled ``custom_rasterizer`` when it is installed and imports, else None."""
    present = sys.modules.get(MODULE_NAME)
    if present is rasterizer:
        return None
    try:
        return importlib.import_module(MODULE_NAME)
    except ImportError as exc:
        if getattr(exc, "name", None) != MODULE_NAME:  # installed but broken
            log.warning("custom_rasterizer is installed but does not import: %s", exc)
        return None


def prepare_rasterizer(choice: RasterizerChoice) -> ModuleType:
    """The module ``MeshRender.raster`` should use; makes ``import custom_rasterizer`` work.

    ``auto`` prefers the compiled extension and falls back to ours; ``extension`` requires
    it (FailedPrecondition otherwise); ``torch`` always uses ours. Without a working
    extension, ours is registered as ``custom_rasterizer`` so that ``MeshRender`` builds.
    """
    extension = load_extension()
    if extension is None:
        if choice == "extension":
            raise FailedPrecondition(
                "texture rasterizer=extension but the compiled custom_rasterizer is not usable"
            )
        if sys.modules.get(MODULE_NAME) is not rasterizer:
            sys.modules[MODULE_NAME] = rasterizer
            log.info("custom_rasterizer absent: hy3dgen will use the pure-PyTorch rasteriser")
        return rasterizer
    return rasterizer if choice == "torch" else extension
