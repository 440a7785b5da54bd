"""A tiny Qwen3-VL (about 1 MB) saved with save_pretrained, per docs/design.md §Testing without weights.

Byte-level Qwen2 tokenizer (256 byte symbols, no merges) plus Qwen's special tokens, the
PIL image processor (patch 16, merge 2, small size bounds), the mandatory video
processor, a minimal chat template, and a 2-layer/64-wide text model with a 2-deep/32-wide
vision tower. Its answers are random bytes: tests assert on types and lengths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif c['type'] == 'text' %}{{ c['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
PATCH = 16


def build_tiny_qwen3_vl(folder: Path) -> Path:
    """Write a loadable tiny Qwen3-VL model + processor into `folder`; returns it."""
    from meshpipe.torchcompat import ensure_torchvision

    ensure_torchvision()
    import torch
    from transformers import Qwen3VLForConditionalGeneration

    processor = tiny_processor()
    tokenizer = processor.tokenizer
    ids: dict[str, Any] = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    torch.manual_seed(0)
    model = Qwen3VLForConditionalGeneration(tiny_config(len(tokenizer), ids))
    model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def tiny_processor() -> Any:
    """Byte-level Qwen2 tokenizer + PIL image processor + video processor + template."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import Qwen3VLProcessor
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    vocab = {ch: i for i, ch in enumerate(sorted(ByteLevel.alphabet()))}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[])
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS[1:])})
    grid: dict[str, Any] = {"patch_size": PATCH, "temporal_patch_size": 2, "merge_size": 2}
    grid["size"] = {"shortest_edge": 32 * 32, "longest_edge": 128 * 128}
    return Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessorPil(**grid),
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(**grid),
        chat_template=CHAT_TEMPLATE,
    )


def tiny_config(vocab_size: int, ids: dict[str, Any]) -> Any:
    """2-layer/64-wide text model, 2-deep/32-wide vision tower, token ids from the tokenizer."""
    from transformers import Qwen3VLConfig

    text = {
        "vocab_size": vocab_size,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": [2, 3, 3],  # sums to head_dim / 2
            "mrope_interleaved": True,
        },
        "max_position_embeddings": 4096,
        "pad_token_id": ids["<|endoftext|>"],
    }
    vision = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "patch_size": PATCH,
        "temporal_patch_size": 2,
        "spatial_merge_size": 2,
        "out_hidden_size": 64,  # = text hidden size
        "num_position_embeddings": 64,  # square
        "deepstack_visual_indexes": [0, 1],  # < depth
    }
    return Qwen3VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
