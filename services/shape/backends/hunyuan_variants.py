"""The published Hunyuan3D-2 shape models and where their files live.

Each variant is a DiT subfolder of a hub repository, laid out as hy3dgen expects under
HY3DGEN_MODELS: `<models_dir>/<repo>/<subfolder>/{config.yaml, model.fp16.safetensors}`.
"turbo" variants are step-distilled (5 steps) and come with a FlashVDM-distilled VAE;
"fast" variants are guidance-distilled (no classifier-free guidance batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from meshpipe.weights import WeightsSpec, missing_any


@dataclass(frozen=True)
class Variant:
    """One Hunyuan3D-DiT checkpoint."""

    name: str
    repo_id: str
    dit: str  # DiT + VAE + conditioner subfolder
    turbo_vae: str  # FlashVDM-distilled VAE subfolder
    default_steps: int
    turbo: bool = False

    @property
    def family(self) -> str:
        """Architecture key for memory estimates: 'v2-mini' or 'v2-0'."""
        return "v2-mini" if "mini" in self.name else "v2-0"


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "v2-0", "tencent/Hunyuan3D-2", "hunyuan3d-dit-v2-0", "hunyuan3d-vae-v2-0-turbo", 30
        ),
        Variant(
            "v2-0-fast",
            "tencent/Hunyuan3D-2",
            "hunyuan3d-dit-v2-0-fast",
            "hunyuan3d-vae-v2-0-turbo",
            30,
        ),
        Variant(
            "v2-0-turbo",
            "tencent/Hunyuan3D-2",
            "hunyuan3d-dit-v2-0-turbo",
            "hunyuan3d-vae-v2-0-turbo",
            5,
            turbo=True,
        ),
        Variant(
            "v2-mini",
            "tencent/Hunyuan3D-2mini",
            "hunyuan3d-dit-v2-mini",
            "hunyuan3d-vae-v2-mini-turbo",
            30,
        ),
        Variant(
            "v2-mini-fast",
            "tencent/Hunyuan3D-2mini",
            "hunyuan3d-dit-v2-mini-fast",
            "hunyuan3d-vae-v2-mini-turbo",
            30,
        ),
        Variant(
            "v2-mini-turbo",
            "tencent/Hunyuan3D-2mini",
            "hunyuan3d-dit-v2-mini-turbo",
            "hunyuan3d-vae-v2-mini-turbo",
            5,
            turbo=True,
        ),
    )
}


def variant_named(name: str) -> Variant:
    """A variant by name, or ValueError listing the known ones."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(
            f"unknown Hunyuan3D variant {name!r}; known: {', '.join(VARIANTS)}"
        ) from None


def checkpoint_name(weights_variant: str) -> str:
    """hy3dgen's file name: model.<variant>.safetensors ('fp16' upstream), or model.safetensors."""
    return f"model.{weights_variant}.safetensors" if weights_variant else "model.safetensors"


def weights_spec(
    variant: Variant, models_dir: str, weights_variant: str, flashvdm: bool
) -> WeightsSpec:
    """What the variant needs on disk: its DiT folder, plus the turbo VAE with FlashVDM."""
    folders = (variant.dit, variant.turbo_vae) if flashvdm and variant.turbo else (variant.dit,)
    ckpt = checkpoint_name(weights_variant)

    def missing(repo: Path) -> list[str]:
        lost: list[str] = []
        for folder in folders:
            lost += [f"{folder}/{m}" for m in missing_any(repo / folder, "config.yaml")]
            lost += [f"{folder}/{m}" for m in missing_any(repo / folder, ckpt)]
        return lost

    return WeightsSpec(
        stage="shape",
        backend="hunyuan3d",
        repo_id=variant.repo_id,
        models_dir=models_dir,
        layout="plain",
        missing=missing,
        subfolders=folders,
    )
