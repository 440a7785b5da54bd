"""Make torchvision's pure-Python parts importable next to a CPU-only torch.

PyPI has no CPU build of torchvision: the wheel that matches a CPU `torch` carries a C++
extension linked against libtorch_cuda, so `import torchvision` fails with
"operator torchvision::nms does not exist" while registering fake kernels for its ops.
transformers' Qwen3-VL processor and hy3dgen's conditioner import torchvision only for
its transforms. Declaring the `torchvision::nms` / `qnms` operator schemas before the
first import lets that import succeed; `torchvision.ops` and `torchvision.io` stay
unusable, and nothing in meshpipe calls them.

Call `ensure_torchvision()` from a backend's `load()`, never at import time. On a machine
where torchvision's extension loads (any CUDA box) it only imports torchvision.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

log = logging.getLogger(__name__)

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_lock = threading.Lock()
_library: Any = None  # keeps the schema definitions alive for the life of the process


def ensure_torchvision() -> bool:
    """Import torchvision, declaring its missing op schemas if needed.

    Returns True when torchvision's compiled ops are real, False when the schema trick
    was applied (transforms work, `torchvision.ops` does not). Raises ImportError when
    torchvision is not installed at all.
    """
    with _lock:
        if _library is not None:
            return False
        try:
            import torchvision
        except RuntimeError as exc:
            if "torchvision::" not in str(exc):
                raise
            log.info("torchvision's extension is unusable here (%s); declaring op schemas", exc)
        else:
            return True
        _declare_schemas()
        _forget_partial_import()
        import torchvision  # noqa: F401

        return False


def _declare_schemas() -> None:
    global _library
    import torch

    library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS:
        library.define(schema)
    _library = library


def _forget_partial_import() -> None:
    """Drop the modules a failed `import torchvision` left behind so it can run again."""
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
