"""What the paint models need on disk (hy3dgen's HY3DGEN_MODELS layout).

``<models_dir>/tencent/Hunyuan3D-2/hunyuan3d-delight-v2-0`` (an InstructPix2Pix pipeline
folder) and ``.../hunyuan3d-paint-v2-0`` (hy3dgen's multiview pipeline; its ``unet/`` holds
``modules.py`` and ``diffusion_pytorch_model.bin``). `require(weights_spec(settings))`
returns the repository folder or raises FailedPrecondition naming the missing files.
"""

from __future__ import annotations

from pathlib import Path

from meshpipe.weights import WeightsSpec, missing_any
from services.texture.paint.settings import PaintSettings

_DIFFUSERS_WEIGHTS = (
    "diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.fp16.safetensors",
    "diffusion_pytorch_model.bin",
)
_TRANSFORMERS_WEIGHTS = ("model.safetensors", "model.fp16.safetensors", "pytorch_model.bin")
_TOKENIZER = ("tokenizer.json", "vocab.json")


def _component_files(folder: Path, sub: str, weights: tuple[str, ...], config: str) -> list[str]:
    lost = [f"{sub}/{m}" for m in missing_any(folder / sub, config)]
    return lost + [f"{sub}/{m}" for m in missing_any(folder / sub, *weights)]


def missing_pipeline_files(folder: Path, multiview: bool) -> list[str]:
    """Files a delight (multiview=False) or multiview pipeline folder lacks."""
    lost = missing_any(folder, "model_index.json")
    lost += _component_files(folder, "vae", _DIFFUSERS_WEIGHTS, "config.json")
    lost += _component_files(folder, "text_encoder", _TRANSFORMERS_WEIGHTS, "config.json")
    lost += [f"tokenizer/{m}" for m in missing_any(folder / "tokenizer", *_TOKENIZER)]
    lost += [f"scheduler/{m}" for m in missing_any(folder / "scheduler", "scheduler_config.json")]
    if multiview:
        lost += _component_files(folder, "unet", ("diffusion_pytorch_model.bin",), "config.json")
        lost += [f"unet/{m}" for m in missing_any(folder / "unet", "modules.py")]
    else:
        lost += _component_files(folder, "unet", _DIFFUSERS_WEIGHTS, "config.json")
    return lost


def weights_spec(settings: PaintSettings) -> WeightsSpec:
    """The delight and multiview folders of `settings.paint_repo` under `models_dir`."""
    delight, multiview = settings.delight_subfolder, settings.multiview_subfolder

    def missing(repo: Path) -> list[str]:
        lost = [f"{delight}/{m}" for m in missing_pipeline_files(repo / delight, False)]
        return lost + [f"{multiview}/{m}" for m in missing_pipeline_files(repo / multiview, True)]

    return WeightsSpec(
        stage="texture",
        backend="hunyuan-paint",
        repo_id=settings.paint_repo,
        models_dir=settings.models_dir,
        layout="plain",
        missing=missing,
        subfolders=(delight, multiview),
    )
