"""Starting lease estimate of the paint backend, following its settings.

lease estimate = peak reserved = weights on the GPU during the heaviest diffusion step +
that step's activations + the render/bake buffers; the process's CUDA context is not in it
(the arbiter adds it once per process). Weights come from the loaded modules when known (exact bytes),
else from the published architectures. The activation and buffer constants are starting
points (half precision, 512 px per view), to be replaced by `scripts/gpu/texture_bench.py`
measurements; the runtime replaces the estimate by the learned peak after each request
(docs/design.md §Stage lifecycle).
"""

from __future__ import annotations

from collections.abc import Mapping

from services.texture.paint.settings import PaintSettings

GIB = 1 << 30
# Parameters of the published models: delight = SD 1.5 InstructPix2Pix (UNet 860 M, VAE 84 M,
# CLIP-L text 123 M); multiview = SD 2.1 UNet twice (dual stream) + multiview/reference
# attention = 1831 M, VAE 84 M, OpenCLIP-H text 340 M (counted on the real configs).
PUBLISHED_PARAMS = {"delight": 1.066e9, "multiview": 2.255e9}
# Largest single component (the UNet) as a fraction of a model: what 'model' offload holds.
_LARGEST_COMPONENT = {"delight": 0.81, "multiview": 0.81}
_SEQUENTIAL_RESIDENT = 0.1  # 'sequential' offload streams layers: a small working set
# Activation peaks in half precision at 512 px: delight runs a CFG batch of 3, multiview a
# CFG batch of 2 x views with attention across all views.
DELIGHT_ACTIVATION_BYTES = 1.5 * GIB
MULTIVIEW_ACTIVATION_PER_VIEW = 0.75 * GIB
RENDER_BYTES_PER_PIXEL = 160  # rasteriser chunk, rast_out, interpolated maps, kernels (fp32)
BAKE_BYTES_PER_TEXEL_PER_VIEW = 24  # projected texture (3), cos map, boundary map (fp32)


# Peak reserved GiB measured through the backend on an NVIDIA H200 (torch 2.11 + CUDA 13,
# real architectures with RANDOM weights, fp16, 40k-face mesh; benchmarks/results/gpu/
# texture_service_h200.md through the texture service, texture_paint_h200*.md directly), keyed by (one_model_at_a_time, offload, views, render, texture).
# Where a configuration was measured, the estimate is that peak + a 5 % margin.
MEASURED_PEAK_RESERVED_GIB: Mapping[tuple[bool, str, int, int, int], float] = {
    (False, "none", 6, 2048, 2048): 11.88,
    (False, "none", 6, 1024, 1024): 11.73,
    (False, "none", 4, 2048, 2048): 10.12,
    (False, "none", 4, 1024, 1024): 9.98,
    (True, "none", 6, 2048, 2048): 5.80,
    (True, "none", 6, 1024, 1024): 5.77,
    (True, "none", 4, 2048, 2048): 5.43,
    (True, "model", 6, 1024, 1024): 8.83,
    (True, "none", 4, 1024, 1024): 5.40,
    (True, "sequential", 4, 1024, 1024): 6.16,
}
MEASURED_MARGIN = 1.05


def measured_bytes(settings: PaintSettings, element_size: int) -> int | None:
    """The measured peak (+ margin) for these settings, if they were measured."""
    key = (
        settings.one_model_at_a_time,
        settings.offload,
        settings.views,
        settings.render_size,
        settings.texture_size,
    )
    gib = MEASURED_PEAK_RESERVED_GIB.get(key)
    if gib is None or element_size != 2:
        return None
    return int(gib * GIB * MEASURED_MARGIN)


def estimate_bytes(
    settings: PaintSettings, element_size: int, weight_bytes: Mapping[str, int] | None = None
) -> int:
    """Expected peak device memory of one request under `settings`, bytes: the H200
    measurement where these settings were measured, else the model below."""
    measured = measured_bytes(settings, element_size)
    if measured is not None:
        return measured
    weights = {
        name: float(weight_bytes[name]) if weight_bytes else PUBLISHED_PARAMS[name] * element_size
        for name in PUBLISHED_PARAMS
    }
    scale = element_size / 2  # activations above are for half precision
    delight = DELIGHT_ACTIVATION_BYTES * (settings.delight_size / 512) ** 2 * scale
    multiview = (
        MULTIVIEW_ACTIVATION_PER_VIEW * settings.views * (settings.view_size / 512) ** 2 * scale
    )
    if settings.attention_slicing:
        multiview *= 0.7
    if settings.vae_slicing:
        delight *= 0.9
    peak_step = max(
        _resident(settings, weights, "delight") + delight,
        _resident(settings, weights, "multiview") + multiview,
    )
    buffers = (
        settings.render_size**2 * RENDER_BYTES_PER_PIXEL
        + settings.texture_size**2 * settings.views * BAKE_BYTES_PER_TEXEL_PER_VIEW
    )
    # Buffers count on top of the diffusion peak: the caching allocator keeps the blocks
    # of the diffusion steps reserved, and the bake's large tensors rarely fit in them.
    return int(peak_step + buffers)


def _resident(settings: PaintSettings, weights: Mapping[str, float], running: str) -> float:
    """Weight bytes on the device while `running` runs."""
    if settings.offload == "sequential" and running != "multiview":
        return _SEQUENTIAL_RESIDENT * weights[running]
    if settings.offload != "none":  # 'model', and 'sequential' for multiview (see models)
        return _LARGEST_COMPONENT[running] * weights[running]
    if settings.one_model_at_a_time:
        return weights[running]
    return sum(weights.values())
