"""Host-memory offload for hy3dgen's shape pipeline (its own `enable_model_cpu_offload` is
unusable in 2.0.2: it reads a `components` attribute the pipeline never defines).

* "model": each component (conditioner -> DiT -> VAE) lives in host memory and moves to
  the GPU whole for its turn (accelerate's `cpu_offload_with_hook`, as diffusers does); the
  peak is the largest component plus activations.
* "sequential": the DiT additionally streams layer by layer (accelerate's `cpu_offload`);
  the conditioner and VAE stay whole because hy3dgen reads their parameters' device
  outside `forward`, which layer streaming would leave on the meta device.
"""

from __future__ import annotations

from typing import Any, Literal

Offload = Literal["none", "model", "sequential"]


def enable_offload(pipeline: Any, mode: Offload, device: Any) -> list[Any]:
    """Install offload hooks on `pipeline`; returns the hooks to `offload_all` after a call.

    The pipeline keeps `device` as its execution device: latents are created there and
    each component is moved there for its forward pass.
    """
    if mode == "none" or device.type != "cuda":
        return []
    from accelerate import cpu_offload, cpu_offload_with_hook

    hooks: list[Any] = []
    previous = None
    for name in ("conditioner", "model", "vae"):
        module = getattr(pipeline, name)
        module.to("cpu")
        if mode == "sequential" and name == "model":
            cpu_offload(module, execution_device=device)
            continue
        _, previous = cpu_offload_with_hook(module, device, prev_module_hook=previous)
        hooks.append(previous)
    return hooks


def offload_all(hooks: list[Any]) -> None:
    """Send every hooked component back to host memory (after a generation)."""
    for hook in hooks:
        hook.offload()
