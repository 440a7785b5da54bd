"""The U^2-Net family (u2netp, u2net, u2net_human_seg, silueta) on onnxruntime directly.

The same pre- and post-processing as rembg's sessions for these models (tests compare the
masks with rembg's), without importing rembg: `import rembg` imports pymatting, whose numba
functions compile at import (45 s of a fresh install's first job on 2 cores, and of every
cold container without a numba cache). This session needs only onnxruntime, numpy, Pillow.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

U2NET_MODELS = frozenset({"u2netp", "u2net", "u2net_human_seg", "silueta"})
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
_SIZE = (320, 320)


class U2netSession:
    """One onnxruntime session of a U^2-Net model file; `predict` returns rembg's mask."""

    def __init__(
        self, model: str, path: Path, providers: list[str], cpu_arena: bool = True
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.enable_cpu_mem_arena = cpu_arena
        threads = os.environ.get("OMP_NUM_THREADS")
        if threads:  # as rembg's session factory does
            options.inter_op_num_threads = int(threads)
            options.intra_op_num_threads = int(threads)
        self.model = model
        self.inner_session: Any = ort.InferenceSession(
            str(path), sess_options=options, providers=providers
        )
        self._input = self.inner_session.get_inputs()[0].name

    def predict(self, img: Image.Image) -> list[Image.Image]:
        """The mask (mode L, the image's size), as rembg's U2netSession.predict."""
        (pred,) = self.inner_session.run(
            [self.inner_session.get_outputs()[0].name], self._feed(img)
        )
        pred = pred[:, 0, :, :]
        high, low = np.max(pred), np.min(pred)
        pred = np.squeeze((pred - low) / (high - low))
        if self.model == "u2net":  # rembg clips for this member of the family only
            pred = pred.clip(0, 1)
        mask = Image.fromarray((pred * 255).astype("uint8"), mode="L")
        return [mask.resize(img.size, Image.Resampling.LANCZOS)]

    def _feed(self, img: Image.Image) -> dict[str, np.ndarray]:
        im = np.array(img.convert("RGB").resize(_SIZE, Image.Resampling.LANCZOS))
        scaled = im / max(np.max(im), 1e-6)
        normed = np.zeros((im.shape[0], im.shape[1], 3))
        for c in range(3):
            normed[:, :, c] = (scaled[:, :, c] - _MEAN[c]) / _STD[c]
        return {self._input: np.expand_dims(normed.transpose((2, 0, 1)), 0).astype(np.float32)}
