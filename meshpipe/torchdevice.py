"""Device, dtype and memory handling shared by the torch backends (imported at load time).

* `resolve_device("auto")` is CUDA when torch sees a GPU, else the CPU.
* `resolve_dtype` picks the serving precision: half precision only on CUDA (CPU kernels
  for fp16/bf16 are slow or missing), so "auto" means bf16/fp16 on CUDA and fp32 on CPU.
* `park` / `wake` move modules between the GPU and pinned host memory (docs/design.md §Measured physics:
  waking from pinned RAM is ~5x faster than a reload from the page cache).
* `device_memory` reads torch's allocator counters for `Backend.memory()`.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterable
from typing import Any

from meshpipe.runtime.backend import DeviceMemory

_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


def resolve_device(setting: str) -> Any:
    """torch.device for a stage's `device` setting ('auto', 'cpu', 'cuda', 'cuda:1')."""
    import torch

    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        from meshpipe.errors import FailedPrecondition

        raise FailedPrecondition(f"device {setting!r} requested but torch sees no CUDA GPU")
    return device


def resolve_dtype(setting: str, device: Any, half: str = "bfloat16") -> Any:
    """torch dtype for a `dtype` setting; 'auto' is `half` on CUDA and float32 elsewhere."""
    import torch

    key = setting.strip().lower()
    if key == "auto":
        name = half if device.type == "cuda" else "float32"
    elif key in _DTYPES:
        name = _DTYPES[key]
    else:
        raise ValueError(f"unknown dtype {setting!r}; use auto, float32, float16 or bfloat16")
    if device.type == "cpu" and name != "float32":
        name = "float32"  # half-precision CPU kernels are missing or slower than fp32
    return getattr(torch, name)


def dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def park(modules: Iterable[Any]) -> None:
    """Move every parameter and buffer to pinned host memory and release the GPU's copy."""
    import torch

    for module in modules:
        for tensor in itertools.chain(module.parameters(), module.buffers()):
            if tensor.device.type == "cuda":
                tensor.data = tensor.data.to("cpu").pin_memory()
    release_cached()
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def wake(modules: Iterable[Any], device: Any) -> None:
    """Move modules back onto `device` (asynchronous copies from pinned memory)."""
    import torch

    for module in modules:
        module.to(device, non_blocking=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def release_cached() -> None:
    """Collect garbage and hand torch's cached device blocks back to the driver."""
    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def device_memory(device: Any) -> DeviceMemory:
    """Allocator counters of `device` (zeros for the CPU)."""
    if device is None or device.type != "cuda":
        return DeviceMemory()
    import torch

    return DeviceMemory(
        allocated=int(torch.cuda.memory_allocated(device)),
        reserved=int(torch.cuda.memory_reserved(device)),
        peak_reserved=int(torch.cuda.max_memory_reserved(device)),
    )


def reset_peak(device: Any) -> None:
    """Start a new peak-memory window on `device`."""
    if device is not None and device.type == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats(device)


def cuda_available() -> bool:
    """Whether torch is installed and sees a GPU (False without torch)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class SingleModuleLifecycle:
    """park / wake / memory / reset_peak_memory of a backend that keeps one torch module in
    `self._model` on `self.device` (mix in before the stage's Backend class)."""

    _model: Any
    device: Any

    def park(self) -> None:
        park([self._model] if self._model is not None else [])

    def wake(self) -> None:
        wake([self._model] if self._model is not None else [], self.device)

    def memory(self) -> DeviceMemory:
        return device_memory(self.device)

    def reset_peak_memory(self) -> None:
        reset_peak(self.device)
