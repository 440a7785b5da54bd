"""A stand-in for a diffusers pipeline inside hy3dgen's wrappers, fixing what they hard-code.

hy3dgen's `Light_Shadow_Remover` and `Multiview_Diffusion_Net` call `self.pipeline(...)`
with fixed step counts (50, 30), a fixed seed, a fixed 512 px size (delight), and PIL lists
for the normal/position maps that `hunyuanpaint/pipeline.py` turns into tensors with
`.half().to("cuda")`. `PipelineCall` sits in `self.pipeline` and rewrites one call:

* steps and seed from the backend's settings and the request;
* the delight size (images resized in and back out, so hy3dgen's colour correction still
  compares 512 px images);
* normal/position maps converted here, on the pipeline's execution device and dtype.

Attribute reads fall through to the wrapped pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class PipelineCall:
    """Callable wrapper of a diffusers pipeline (see the module docstring)."""

    def __init__(self, pipeline: Any, steps: int, size: int | None = None) -> None:
        self.pipeline = pipeline
        self.steps = steps
        self.size = size
        self.seed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipeline, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import torch

        kwargs["num_inference_steps"] = self.steps
        kwargs["generator"] = torch.Generator("cpu").manual_seed(self.seed)
        for key in ("normal_imgs", "position_imgs"):
            if isinstance(kwargs.get(key), list):
                kwargs[key] = self._maps_to_tensor(kwargs[key])
        asked = kwargs.get("width")
        if self.size and asked and asked != self.size:
            kwargs["width"] = kwargs["height"] = self.size
            if "image" in kwargs:
                kwargs["image"] = kwargs["image"].resize((self.size, self.size))
            out = self.pipeline(*args, **kwargs)
            out.images = [im.resize((asked, asked)) for im in out.images]
            return out
        return self.pipeline(*args, **kwargs)

    def _maps_to_tensor(self, batches: list[list[Any]]) -> Any:
        """[B][N] PIL maps -> [B, N, 3, H, W] on the execution device (alpha over white)."""
        import torch

        views = []
        for batch in batches:
            arrays = []
            for image in batch:
                arr = np.asarray(image, dtype=np.float32) / 255.0
                if arr.shape[2] > 3:
                    alpha = arr[:, :, 3:]
                    arr = arr[:, :, :3] * alpha + (1.0 - alpha)
                arrays.append(arr.transpose(2, 0, 1))
            views.append(np.stack(arrays))
        tensor = torch.from_numpy(np.stack(views))
        return tensor.to(device=self.pipeline._execution_device, dtype=self.pipeline.vae.dtype)
