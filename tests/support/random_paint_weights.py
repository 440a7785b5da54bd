"""Hunyuan3D-Paint model folders with random weights, in the layout hy3dgen loads.

No model hub is reachable from CI or the build machines (docs/design.md §Testing without weights), so the real loading
code is exercised on folders this module writes:

* ``<root>/<repo>/hunyuan3d-delight-v2-0``: a standard InstructPix2Pix pipeline folder;
* ``<root>/<repo>/hunyuan3d-paint-v2-0``: hy3dgen's multiview pipeline folder, whose
  ``unet/`` holds hy3dgen's ``modules.py`` and the state dict of its 2.5D UNet wrapper
  (``diffusion_pytorch_model.bin`` + the inner UNet's ``config.json``).

``scale="tiny"`` builds models of a few MB for CPU tests (garbage output, real code path);
``scale="real"`` builds the published architectures (SD 1.5-sized delight UNet, SD 2.1-sized
multiview UNet with its dual stream, SD VAE, CLIP text encoders) for GPU measurements of
memory and time. Test and GPU-script support only: the serving packages never import it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Literal

Scale = Literal["tiny", "real"]
REPO_ID = "tencent/Hunyuan3D-2"
DELIGHT = "hunyuan3d-delight-v2-0"
PAINT = "hunyuan3d-paint-v2-0"
_TOKENS = 2 * 256 + 2  # the byte-level test tokenizer: bytes, bytes + "</w>", bos, eos


def build_models(root: Path, scale: Scale = "tiny", seed: int = 0, half: bool = False) -> Path:
    """Write both model folders under ``root`` (HY3DGEN_MODELS); returns the repo folder.

    ``half`` stores the weights in float16 (as published; halves disk and build time).
    """
    import torch

    torch.manual_seed(seed)
    repo = root / REPO_ID
    build_delight(repo / DELIGHT, scale, half)
    build_multiview(repo / PAINT, scale, half)
    return repo


def build_delight(folder: Path, scale: Scale, half: bool = False) -> None:
    """An InstructPix2Pix pipeline folder (8-channel UNet input: latents + image latents)."""
    from diffusers import (
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        UNet2DConditionModel,
    )

    text_dim = 768 if scale == "real" else 32
    unet = UNet2DConditionModel(**_unet_config(scale, in_channels=8, cross_dim=text_dim))
    pipe: Any = StableDiffusionInstructPix2PixPipeline(
        vae=_vae(scale),
        text_encoder=_text_encoder(scale, text_dim),
        tokenizer=_tokenizer(),
        unet=unet,
        scheduler=EulerAncestralDiscreteScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    if half:
        import torch

        pipe.to(dtype=torch.float16)
    pipe.save_pretrained(folder)


def build_multiview(folder: Path, scale: Scale, half: bool = False) -> None:
    """hy3dgen's multiview pipeline folder: custom 2.5D UNet (cross-attention 1024, t-emb 1280)."""
    import torch
    from diffusers import DDIMScheduler, UNet2DConditionModel
    from hy3dgen.texgen.hunyuanpaint.unet import modules
    from transformers import CLIPImageProcessor

    config = _unet_config(scale, in_channels=4, cross_dim=1024, time_dim=1280)
    wrapper = modules.UNet2p5DConditionModel(UNet2DConditionModel(**config))
    dtype = torch.float16 if half else torch.float32
    unet_dir = folder / "unet"
    unet_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(modules.__file__, unet_dir / "modules.py")
    (unet_dir / "config.json").write_text(json.dumps(config, indent=2))
    torch.save(wrapper.to(dtype).state_dict(), unet_dir / "diffusion_pytorch_model.bin")
    vae = _vae(scale)
    vae.to(dtype).save_pretrained(folder / "vae")
    _text_encoder(scale, 1024).to(dtype).save_pretrained(folder / "text_encoder")
    _tokenizer().save_pretrained(folder / "tokenizer")
    scheduler: Any = DDIMScheduler()
    scheduler.save_pretrained(folder / "scheduler")
    CLIPImageProcessor().save_pretrained(folder / "feature_extractor")
    index = {
        "_class_name": "HunyuanPaintPipeline",
        "_diffusers_version": "0.23.1",
        "feature_extractor": ["transformers", "CLIPImageProcessor"],
        "safety_checker": [None, None],
        "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["modules", "UNet2p5DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))


def _unet_config(
    scale: Scale, in_channels: int, cross_dim: int, time_dim: int | None = None
) -> dict[str, Any]:
    if scale == "real":  # Stable Diffusion 1.5 (delight) / 2.1 (multiview) UNet
        sd21 = cross_dim == 1024
        return {
            "sample_size": 64,
            "in_channels": in_channels,
            "out_channels": 4,
            "block_out_channels": [320, 640, 1280, 1280],
            "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
            "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
            "layers_per_block": 2,
            "cross_attention_dim": cross_dim,
            "attention_head_dim": [5, 10, 20, 20] if sd21 else 8,
            "use_linear_projection": sd21,
            "time_embedding_dim": time_dim,
        }
    # Cross-attention only at the coarsest level keeps multiview attention cheap on a CPU.
    return {
        "sample_size": 8,
        "in_channels": in_channels,
        "out_channels": 4,
        "block_out_channels": [32, 64],
        "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
        "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
        "layers_per_block": 1,
        "cross_attention_dim": cross_dim,
        "attention_head_dim": 8,
        "norm_num_groups": 16,
        "time_embedding_dim": time_dim,
    }


def _vae(scale: Scale) -> Any:
    """SD's VAE (x8 down-sampling, 4 latent channels) or a tiny one with the same factor."""
    from diffusers import AutoencoderKL

    channels = [128, 256, 512, 512] if scale == "real" else [8, 16, 16, 16]
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        block_out_channels=channels,
        layers_per_block=2 if scale == "real" else 1,
        latent_channels=4,
        norm_num_groups=32 if scale == "real" else 8,
        sample_size=512 if scale == "real" else 64,
    )


def _text_encoder(scale: Scale, hidden: int) -> Any:
    """CLIP text encoder: ViT-L/14's (768) or OpenCLIP ViT-H's (1024), or a 1-layer one."""
    from transformers import CLIPTextConfig, CLIPTextModel

    real = scale == "real"
    config = CLIPTextConfig(
        vocab_size=49408 if real else 1024,
        hidden_size=hidden,
        intermediate_size=hidden * 4 if real else 64,
        num_hidden_layers=(23 if hidden == 1024 else 12) if real else 1,
        num_attention_heads=hidden // 64 if real else 2,
        max_position_embeddings=77,
        hidden_act="gelu" if hidden == 1024 else "quick_gelu",
        bos_token_id=49406 if real else _TOKENS - 2,
        eos_token_id=49407 if real else _TOKENS - 1,
        pad_token_id=1 if real else _TOKENS - 1,
    )
    return CLIPTextModel(config)


def _tokenizer() -> Any:
    """A byte-level CLIP BPE tokenizer with no merges (every byte is a token)."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    symbols = sorted(ByteLevel.alphabet())
    tokens = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    return CLIPTokenizer(vocab={t: i for i, t in enumerate(tokens)}, merges=[], model_max_length=77)
