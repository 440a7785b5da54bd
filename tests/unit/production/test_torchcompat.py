"""torchvision's transforms import next to a CPU-only torch (docs/design.md §Testing without weights)."""

from __future__ import annotations

import importlib

from tests.unit.production.conftest import require


def test_transforms_import_and_the_call_is_idempotent() -> None:
    require("torch", "torchvision")
    from meshpipe.torchcompat import ensure_torchvision

    first = ensure_torchvision()
    transforms = importlib.import_module("torchvision.transforms")
    assert transforms.Normalize(mean=[0.5], std=[0.5]) is not None
    assert ensure_torchvision() == first
    if not first:  # schema trick in use: the ops are declared, not implemented
        import torch

        assert hasattr(torch.ops.torchvision, "nms")
