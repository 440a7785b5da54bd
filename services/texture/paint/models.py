"""Loading hy3dgen's delight and multiview models with meshpipe's device, dtype and knobs.

hy3dgen's `Light_Shadow_Remover` and `Multiview_Diffusion_Net` load their pipelines in
`__init__` in fp16 on 'cuda', without `trust_remote_code` (which diffusers >= 0.3x needs for
the multiview UNet's `modules.py`). Here the same diffusers pipelines are loaded the way
upstream does (same classes, schedulers, custom pipeline) but with our device/dtype, and
placed into instances of hy3dgen's wrappers, whose `__call__` then runs unchanged through a
`PipelineCall`. Memory knobs (VAE slicing/tiling, attention slicing, CPU offload) are
diffusers' own switches.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.texture.paint.pipeline_call import PipelineCall
from services.texture.paint.settings import PaintSettings


@dataclass
class PaintModel:
    """One hy3dgen wrapper (delight or multiview) and the diffusers pipeline inside it."""

    name: str
    wrapper: Any
    call: PipelineCall

    @property
    def pipeline(self) -> Any:
        return self.call.pipeline

    def modules(self) -> list[Any]:
        """The torch modules of the pipeline (what moves between host and device)."""
        return [m for m in self.pipeline.components.values() if hasattr(m, "parameters")]

    def weight_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for m in self.modules() for p in m.parameters())


def load_delight(folder: Path, settings: PaintSettings, device: Any, dtype: Any) -> PaintModel:
    """hy3dgen's delight (InstructPix2Pix) model, in host memory."""
    from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionInstructPix2PixPipeline
    from hy3dgen.texgen.utils.dehighlight_utils import Light_Shadow_Remover

    pipeline = StableDiffusionInstructPix2PixPipeline.from_pretrained(
        str(folder), dtype=dtype, safety_checker=None
    )
    pipeline.scheduler = EulerAncestralDiscreteScheduler.from_config(pipeline.scheduler.config)
    pipeline.set_progress_bar_config(disable=True)
    call = PipelineCall(pipeline, settings.delight_steps, settings.delight_size)
    wrapper = Light_Shadow_Remover.__new__(Light_Shadow_Remover)
    wrapper.device, wrapper.cfg_image, wrapper.cfg_text = str(device), 1.5, 1.0
    wrapper.pipeline = call
    return PaintModel("delight", wrapper, call)


def load_multiview(folder: Path, settings: PaintSettings, device: Any, dtype: Any) -> PaintModel:
    """hy3dgen's multiview diffusion model (custom pipeline and 2.5D UNet), in host memory."""
    import hy3dgen.texgen.hunyuanpaint as hunyuanpaint
    from diffusers import DiffusionPipeline, EulerAncestralDiscreteScheduler
    from hy3dgen.texgen.utils.multiview_utils import Multiview_Diffusion_Net

    pipeline = DiffusionPipeline.from_pretrained(
        str(folder),
        custom_pipeline=os.path.dirname(hunyuanpaint.__file__),
        dtype=dtype,
        trust_remote_code=True,  # unet/modules.py; hy3dgen omits it (docs/design.md §Testing without weights)
    )
    pipeline.scheduler = EulerAncestralDiscreteScheduler.from_config(
        pipeline.scheduler.config, timestep_spacing="trailing"
    )
    pipeline.set_progress_bar_config(disable=True)
    call = PipelineCall(pipeline, settings.multiview_steps)
    wrapper = Multiview_Diffusion_Net.__new__(Multiview_Diffusion_Net)
    wrapper.device, wrapper.view_size = str(device), settings.view_size
    wrapper.pipeline = call
    return PaintModel("multiview", wrapper, call)


def apply_memory_knobs(model: PaintModel, settings: PaintSettings, device: Any) -> None:
    """VAE slicing/tiling, attention slicing and (CUDA only) diffusers CPU offload.

    'sequential' streams the delight pipeline layer by layer but offloads the multiview one
    model by model (see below).
    """
    pipeline = model.pipeline
    if settings.vae_slicing:
        pipeline.vae.enable_slicing()
    if settings.vae_tiling:
        pipeline.vae.enable_tiling()
    if settings.attention_slicing:
        pipeline.enable_attention_slicing()
    if device.type != "cuda" or settings.offload == "none":
        return
    # The multiview pipeline reads its UNet's learned text embeddings outside `forward`;
    # layer streaming would leave them on the meta device, so it gets model offload.
    if settings.offload == "sequential" and model.name != "multiview":
        pipeline.enable_sequential_cpu_offload(device=device)
    else:
        pipeline.enable_model_cpu_offload(device=device)
