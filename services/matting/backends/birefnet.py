"""Production matting backend: BiRefNet run directly with torch (docs/design.md §Pipeline).

The published BiRefNet repositories (ZhengPeng7/BiRefNet, BiRefNet_HR, BiRefNet-portrait,
...) ship their model code next to the weights and load with
`AutoModelForImageSegmentation.from_pretrained(folder, trust_remote_code=True)`; the code
executed is the one in the operator's local folder, never fetched. The crop is resized to
the model's square input, normalised with ImageNet statistics, and the sigmoid of the last
output map is the matte, resized back. Edge refinement, stray-part removal and foreground
colours are the stage's shared post-processing (MattingBackend.matte).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from meshpipe import torchdevice
from meshpipe.errors import FailedPrecondition
from meshpipe.profiles import apply_profile, device_total_bytes, resolve_profile
from meshpipe.runtime.backend import BackendInfo
from meshpipe.torchcompat import ensure_torchvision
from meshpipe.weights import WeightsSpec, missing_safetensors, require
from services.matting.backends import MattingBackend
from services.matting.settings import MattingSettings

log = logging.getLogger(__name__)

GIB = 1 << 30
_DEFAULT_FOOTPRINT_GIB = 2.35  # 1024 px fp16: 2.32 GiB peak reserved (H200), no context
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def weights_specs(settings: MattingSettings) -> list[WeightsSpec]:
    """The BiRefNet folder: config.json with its auto_map, the code files it names, weights."""
    return [
        WeightsSpec(
            "matting",
            "birefnet",
            settings.birefnet_model,
            settings.models_dir,
            "hf-cache",
            _missing,
        )
    ]


def _missing(folder: Path) -> list[str]:
    config = folder / "config.json"
    if not config.is_file():
        return ["config.json", *missing_safetensors(folder)]
    import json

    auto_map = json.loads(config.read_text()).get("auto_map", {})
    modules = {ref.split(".")[0] + ".py" for ref in auto_map.values() if isinstance(ref, str)}
    lost = [m for m in sorted(modules) if not (folder / m).is_file()]
    if not auto_map:
        lost.append("config.json auto_map (BiRefNet's trust_remote_code entry)")
    return lost + missing_safetensors(folder)


def _load_remote_code(folder: Path, auto_class: Any) -> Any:
    """The folder's model, loaded on the CPU; its code failing to import or build (a missing
    package, or code written for another transformers) is the operator's folder to fix:
    FAILED_PRECONDITION with the cause, not an internal error."""
    import transformers

    try:
        return auto_class.from_pretrained(folder, trust_remote_code=True)
    except ImportError as exc:
        raise FailedPrecondition(
            f"the model code in {folder} needs a package that is not installed: {exc} "
            "(BiRefNet's code imports timm and kornia: pip install 'meshpipe[matting-birefnet]')"
        ) from exc
    except (AttributeError, TypeError, ValueError, RuntimeError, NotImplementedError) as exc:
        raise FailedPrecondition(
            f"the model code in {folder} does not load with transformers "
            f"{transformers.__version__}: {type(exc).__name__}: {exc}. BiRefNet's published "
            "code needs small fixes on transformers 5 (docs/backends.md, "
            "'BiRefNet on transformers 5')"
        ) from exc


class BiRefNetBackend(torchdevice.SingleModuleLifecycle, MattingBackend):
    """BiRefNet (or any model with its interface) from a local trust_remote_code folder."""

    def __init__(self, settings: MattingSettings) -> None:
        self.device = torchdevice.resolve_device(settings.device)
        self.profile = resolve_profile(
            settings.memory_profile, device_total_bytes(str(self.device))
        )
        super().__init__(apply_profile(settings, "matting", self.profile))
        self.dtype = torchdevice.resolve_dtype(self.settings.dtype, self.device, half="float16")
        self._model: Any = None

    @property
    def info(self) -> BackendInfo:
        return BackendInfo("birefnet", self.settings.birefnet_model, str(self.device))

    @property
    def footprint_bytes(self) -> int:
        if self.device.type != "cuda":
            return 0
        sized = self.profile.stage("matting").footprint_bytes("birefnet") if self.profile else 0
        return sized or int(_DEFAULT_FOOTPRINT_GIB * GIB)

    def load(self) -> None:
        folder = require(weights_specs(self.settings)[0])
        ensure_torchvision()
        import torch
        from transformers import AutoModelForImageSegmentation

        if self.device.type == "cuda":
            torch.set_float32_matmul_precision("high")
        model = _load_remote_code(folder, AutoModelForImageSegmentation)
        self._model = model.to(self.device, self.dtype).eval()
        log.info(
            "birefnet loaded from %s on %s (%s, %d px)",
            folder,
            self.device,
            torchdevice.dtype_name(self.dtype),
            self.settings.birefnet_resolution,
        )

    def warmup(self) -> None:
        probe = Image.new("RGB", (64, 64), (200, 200, 200))
        probe.paste((180, 40, 40), (16, 16, 48, 48))
        self.predict_alpha(probe)

    def unload(self) -> None:
        self._model = None
        torchdevice.release_cached()

    def predict_alpha(self, image: Image.Image) -> np.ndarray:
        if self._model is None:
            raise FailedPrecondition("matting model is not loaded")
        import torch

        side = self.settings.birefnet_resolution
        resized = image.convert("RGB").resize((side, side), Image.Resampling.BILINEAR)
        pixels = (np.asarray(resized, dtype=np.float32) / 255.0 - _MEAN) / _STD
        batch = torch.from_numpy(pixels.transpose(2, 0, 1)[None].copy())
        with torch.inference_mode():
            logits = self._model(batch.to(self.device, self.dtype))[-1]
            matte = torch.nn.functional.interpolate(
                logits.float().sigmoid(),
                size=(image.height, image.width),
                mode="bilinear",
                align_corners=False,
            )
        alpha: np.ndarray = matte[0, 0].clamp(0, 1).cpu().numpy().astype(np.float32)
        return alpha
