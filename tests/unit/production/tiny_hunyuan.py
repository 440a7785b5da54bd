"""A tiny Hunyuan3D-2 shape checkpoint in hy3dgen's own layout (docs/design.md §Testing without weights).

`<models_dir>/tencent/Hunyuan3D-2mini/<subfolder>/{config.yaml, model.fp16.safetensors}`:
a DiT of hidden 32 (axes_dim summing to hidden / heads), a VAE whose embed_dim is the DiT's
in_channels, a DINOv2 conditioner from an inline tiny config (patch 14, image 28, hidden =
the DiT's context_in_dim); weights are each part's state dict prefixed model./vae./
conditioner. as hy3dgen's loader expects. Random weights still give a marching-cubes
surface, so the whole production path runs in well under a second per call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DINO = {
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "mlp_ratio": 2,
    "patch_size": 14,
    "image_size": 28,
    "qkv_bias": True,
    "layer_norm_eps": 1e-6,
    "hidden_act": "gelu",
    "model_type": "dinov2",
}


def tiny_config(guidance_embed: bool = False) -> dict[str, Any]:
    """hy3dgen config.yaml content of a tiny DiT + VAE + conditioner."""
    return {
        "model": {
            "target": "hy3dgen.shapegen.models.Hunyuan3DDiT",
            "params": {
                "in_channels": 8,
                "context_in_dim": 32,
                "hidden_size": 32,
                "mlp_ratio": 2.0,
                "num_heads": 2,
                "depth": 1,
                "depth_single_blocks": 1,
                "axes_dim": [16],
                "theta": 10000,
                "qkv_bias": True,
                "guidance_embed": guidance_embed,
            },
        },
        "vae": tiny_vae_config(),
        "conditioner": {
            "target": "hy3dgen.shapegen.models.SingleImageEncoder",
            "params": {
                "main_image_encoder": {
                    "type": "DinoImageEncoder",
                    "kwargs": {"config": DINO, "image_size": 28, "use_cls_token": True},
                }
            },
        },
        "scheduler": {
            "target": "hy3dgen.shapegen.schedulers.FlowMatchEulerDiscreteScheduler",
            "params": {"num_train_timesteps": 1000},
        },
        "image_processor": {
            "target": "hy3dgen.shapegen.preprocessors.ImageProcessorV2",
            "params": {"size": 64, "border_ratio": 0.15},
        },
    }


def tiny_vae_config() -> dict[str, Any]:
    return {
        "target": "hy3dgen.shapegen.models.ShapeVAE",
        "params": {
            "num_latents": 16,
            "embed_dim": 8,
            "num_freqs": 4,
            "include_pi": False,
            "heads": 2,
            "width": 32,
            "num_decoder_layers": 1,
            "qkv_bias": False,
            "qk_norm": True,
            "scale_factor": 1.0,
            "geo_decoder_mlp_expand_ratio": 2,
            "geo_decoder_downsample_ratio": 1,
            "geo_decoder_ln_post": True,
        },
    }


def build_tiny_hunyuan(
    models_dir: Path, repo: str = "tencent/Hunyuan3D-2mini", dit: str = "hunyuan3d-dit-v2-mini"
) -> Path:
    """Write the tiny checkpoint under `models_dir` (an HY3DGEN_MODELS folder)."""
    from meshpipe.torchcompat import ensure_torchvision

    ensure_torchvision()
    import torch
    import yaml
    from hy3dgen.shapegen.pipelines import instantiate_from_config
    from safetensors.torch import save_file

    config = tiny_config()
    torch.manual_seed(0)
    state: dict[str, Any] = {}
    for part in ("model", "vae", "conditioner"):
        module = instantiate_from_config(config[part])
        for key, value in module.state_dict().items():
            state[f"{part}.{key}"] = value.to(torch.float16).contiguous()
    folder = models_dir / repo / dit
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    save_file(state, str(folder / "model.fp16.safetensors"))
    return models_dir


def build_tiny_vae(
    models_dir: Path,
    repo: str = "tencent/Hunyuan3D-2mini",
    folder: str = "hunyuan3d-vae-v2-mini-turbo",
) -> Path:
    """A stand-alone ShapeVAE folder (what turbo variants load for FlashVDM)."""
    import torch
    import yaml
    from hy3dgen.shapegen.pipelines import instantiate_from_config
    from safetensors.torch import save_file

    config = tiny_vae_config()
    torch.manual_seed(1)
    vae = instantiate_from_config(config)
    target = models_dir / repo / folder
    target.mkdir(parents=True, exist_ok=True)
    (target / "config.yaml").write_text(yaml.safe_dump(config))
    state = {k: v.to(torch.float16).contiguous() for k, v in vae.state_dict().items()}
    save_file(state, str(target / "model.fp16.safetensors"))
    return models_dir
