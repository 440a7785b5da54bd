"""Real architectures with RANDOM weights, written to disk in the layouts the production
backends load (for scripts/gpu/backends_bench.py on a CUDA machine).

* Qwen3-VL-2B-Instruct: the published config (transcribed below; pass the real
  config.json with --qwen-config where it is at hand), a byte-level tokenizer whose
  special tokens sit at Qwen's ids, the Qwen2-VL image processor with Qwen3-VL's patch 16.
  Checked by parameter count: 2.1275 B in all, 407.0 M vision, 1.7206 B language, as the
  published checkpoint's tensors (2.128 B / 407.0 M / 1.721 B; 4.26 GB bf16 safetensors).
* Hunyuan3D-DiT v2-mini and v2-0: the configs of /work/shared/tools/gpu_physics.py (DiT,
  ShapeVAE, DINOv2-giant conditioner), fp16 safetensors in hy3dgen's HY3DGEN_MODELS layout.
* BiRefNet: only where its code folder is supplied (its architecture ships with its
  weights, not with any package); random weights are saved next to a copy of the code.

Parameter counts, and so memory and time, are those of the real models; outputs are noise.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

QWEN_SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)  # ids 151643 ... 151656
QWEN_FIRST_SPECIAL = 151643
QWEN3_VL_2B: dict[str, Any] = {
    "text_config": {
        "vocab_size": 151936,
        "hidden_size": 2048,
        "intermediate_size": 6144,
        "num_hidden_layers": 28,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "max_position_embeddings": 262144,
        "rms_norm_eps": 1e-6,
        "tie_word_embeddings": True,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5000000.0,
            "mrope_section": [24, 20, 20],
            "mrope_interleaved": True,
        },
    },
    "vision_config": {
        "depth": 24,
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_heads": 16,
        "patch_size": 16,
        "temporal_patch_size": 2,
        "spatial_merge_size": 2,
        "out_hidden_size": 2048,
        "num_position_embeddings": 2304,
        "deepstack_visual_indexes": [5, 11, 17],
        "hidden_act": "gelu_pytorch_tanh",
    },
    "image_token_id": 151655,
    "video_token_id": 151656,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "tie_word_embeddings": True,
}
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif c['type'] == 'text' %}{{ c['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def qwen_processor() -> Any:
    """Byte-level tokenizer padded so that Qwen's special tokens get their real ids."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    symbols = sorted(ByteLevel.alphabet())
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab.update({f"<|filler_{i}|>": i for i in range(len(symbols), QWEN_FIRST_SPECIAL)})
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[])
    tokenizer.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIALS[1:])})
    assert tokenizer.convert_tokens_to_ids("<|image_pad|>") == 151655
    size = {"shortest_edge": 64 * 32 * 32, "longest_edge": 16384 * 32 * 32}
    kwargs: dict[str, Any] = {
        "patch_size": 16,
        "temporal_patch_size": 2,
        "merge_size": 2,
        "size": size,
        "image_mean": [0.5] * 3,
        "image_std": [0.5] * 3,
    }
    image_processor = Qwen2VLImageProcessor(**kwargs)
    video = Qwen3VLVideoProcessor(**kwargs)
    return Qwen3VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video,
        chat_template=CHAT_TEMPLATE,
    )


def build_qwen(folder: Path, config_json: Path | None = None, device: str = "cuda") -> Path:
    """Qwen3-VL-2B with random bf16 weights (built on `device`), saved with save_pretrained."""
    import torch
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    raw: dict[str, Any] = json.loads(config_json.read_text()) if config_json else QWEN3_VL_2B
    config = Qwen3VLConfig(**{k: v for k, v in raw.items() if k != "architectures"})
    with torch.device(device):
        model: Any = Qwen3VLForConditionalGeneration(config)
    model = model.to(torch.bfloat16)
    model.generation_config.eos_token_id = [151645, 151643]
    model.generation_config.pad_token_id = 151643
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    qwen_processor().save_pretrained(folder)
    del model
    return folder


_DIT = {
    "in_channels": 64,
    "context_in_dim": 1536,
    "hidden_size": 1024,
    "mlp_ratio": 4.0,
    "num_heads": 16,
    "axes_dim": [64],
    "theta": 10000,
    "qkv_bias": True,
    "guidance_embed": False,
}
_VAE = {
    "embed_dim": 64,
    "num_freqs": 8,
    "include_pi": False,
    "heads": 16,
    "width": 1024,
    "num_decoder_layers": 16,
    "qkv_bias": False,
    "qk_norm": True,
    "geo_decoder_mlp_expand_ratio": 4,
    "geo_decoder_downsample_ratio": 1,
    "geo_decoder_ln_post": True,
}
_DINO_G = {
    "hidden_size": 1536,
    "num_hidden_layers": 40,
    "num_attention_heads": 24,
    "mlp_ratio": 4,
    "patch_size": 14,
    "image_size": 518,
    "use_swiglu_ffn": True,
    "layerscale_value": 1.0,
    "qkv_bias": True,
    "layer_norm_eps": 1e-6,
    "hidden_act": "gelu",
    "model_type": "dinov2",
}
HUNYUAN = {  # variant -> (repo, subfolder, DiT depth, single blocks, VAE latents, VAE scale)
    "v2-mini": ("tencent/Hunyuan3D-2mini", "hunyuan3d-dit-v2-mini", 8, 16, 512, 1.0188137142395404),
    "v2-0": ("tencent/Hunyuan3D-2", "hunyuan3d-dit-v2-0", 16, 32, 3072, 0.9990943042622529),
}


def hunyuan_config(variant: str) -> dict[str, Any]:
    """hy3dgen config.yaml content of a variant (as in gpu_physics.py)."""
    _, _, depth, singles, latents, scale = HUNYUAN[variant]
    return {
        "model": {
            "target": "hy3dgen.shapegen.models.Hunyuan3DDiT",
            "params": {**_DIT, "depth": depth, "depth_single_blocks": singles},
        },
        "vae": {
            "target": "hy3dgen.shapegen.models.ShapeVAE",
            "params": {**_VAE, "num_latents": latents, "scale_factor": scale},
        },
        "conditioner": {
            "target": "hy3dgen.shapegen.models.SingleImageEncoder",
            "params": {
                "main_image_encoder": {
                    "type": "DinoImageEncoder",
                    "kwargs": {"config": _DINO_G, "image_size": 518, "use_cls_token": True},
                }
            },
        },
        "scheduler": {
            "target": "hy3dgen.shapegen.schedulers.FlowMatchEulerDiscreteScheduler",
            "params": {"num_train_timesteps": 1000},
        },
        "image_processor": {
            "target": "hy3dgen.shapegen.preprocessors.ImageProcessorV2",
            "params": {"size": 512, "border_ratio": 0.15},
        },
    }


def build_hunyuan(models_dir: Path, variant: str, device: str = "cuda") -> Path:
    """`<models_dir>/<repo>/<subfolder>/{config.yaml, model.fp16.safetensors}`, random."""
    import torch
    import yaml
    from hy3dgen.shapegen.pipelines import instantiate_from_config
    from safetensors.torch import save_file

    repo, subfolder = HUNYUAN[variant][:2]
    config = hunyuan_config(variant)
    state: dict[str, Any] = {}
    for part in ("model", "vae", "conditioner"):
        with torch.device(device):
            module = instantiate_from_config(config[part]).half()
        state.update({f"{part}.{k}": v.cpu().contiguous() for k, v in module.state_dict().items()})
        del module
    folder = models_dir / repo / subfolder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    save_file(state, str(folder / "model.fp16.safetensors"))
    return models_dir


def build_birefnet(code_folder: Path, folder: Path) -> Path:
    """A copy of a BiRefNet code folder (config.json + *.py) with random weights saved."""
    import torch
    from transformers import AutoConfig, AutoModelForImageSegmentation

    shutil.copytree(
        code_folder,
        folder,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("*.safetensors", "*.bin", "*.pth"),
    )
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    with torch.device("cuda"):
        model = AutoModelForImageSegmentation.from_config(config, trust_remote_code=True)
    model.save_pretrained(folder)
    return folder
