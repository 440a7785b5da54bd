"""rembg sessions over a local ONNX file (u2netp is the embedded default); never downloads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from meshpipe.errors import FailedPrecondition
from meshpipe.runtime.backend import BackendInfo
from services.matting.backends import MattingBackend
from services.matting.backends.u2net_session import U2NET_MODELS, U2netSession
from services.matting.settings import MattingSettings


class RembgBackend(MattingBackend):
    """A rembg session (u2netp, u2net, isnet-general-use, birefnet-general, a custom ONNX
    file...); on the GPU through onnxruntime-gpu's CUDA provider when it is installed."""

    def __init__(self, settings: MattingSettings) -> None:
        super().__init__(settings)
        self.weights_dir = Path(settings.weights_dir).expanduser()
        self._session: Any = None
        self._device = "cpu"

    @property
    def info(self) -> BackendInfo:
        weights = self.settings.custom_model if self._custom else self.settings.model
        return BackendInfo("rembg", weights, self._device)

    @property
    def _custom(self) -> bool:
        return self.settings.model.endswith("_custom")

    @property
    def weights_path(self) -> Path:
        if self._custom:
            return self.weights_dir / self.settings.custom_model
        return self.weights_dir / f"{self.settings.model}.onnx"

    def load(self) -> None:
        if not self.weights_path.is_file():
            raise FailedPrecondition(
                f"matting weights missing: {self.weights_path} not found "
                "(run `meshpipe weights fetch-default` or set MESHPIPE_MATTING_WEIGHTS_DIR)"
            )
        providers = onnx_providers(self.settings.device)
        if self.settings.model in U2NET_MODELS:  # no rembg import: no numba compile
            self._session = U2netSession(
                self.settings.model, self.weights_path, providers, self.settings.onnx_cpu_arena
            )
        else:
            self._session = self._rembg_session(providers)
        active = self._session.inner_session.get_providers()
        self._device = "cuda" if "CUDAExecutionProvider" in active else "cpu"

    def _rembg_session(self, providers: list[str]) -> Any:
        # rembg finds its model files through U2NET_HOME; set at load time, never at import.
        os.environ["U2NET_HOME"] = str(self.weights_dir)
        from rembg import new_session

        extra = {"model_path": str(self.weights_path)} if self._custom else {}
        return new_session(self.settings.model, providers=providers, **extra)

    def warmup(self) -> None:
        probe = Image.new("RGB", (64, 64), (200, 200, 200))
        probe.paste((180, 40, 40), (16, 16, 48, 48))
        self.matte(probe)

    def unload(self) -> None:
        self._session = None

    def predict_alpha(self, image: Image.Image) -> np.ndarray:
        if self._session is None:
            raise FailedPrecondition("matting model is not loaded")
        mask = self._session.predict(image)[0]
        return np.asarray(mask, dtype=np.float32) / 255.0


def onnx_providers(device: str) -> list[str]:
    """onnxruntime providers for a `device` setting: CUDA when onnxruntime-gpu offers it and
    the device is not 'cpu' (GPU 0 of CUDA_VISIBLE_DEVICES), with the CPU as fallback."""
    import onnxruntime as ort

    if device != "cpu" and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]
