"""Production detector: Qwen3-VL grounding through `transformers` (docs/design.md §Pipeline).

The model is asked for every instance of the prompt's categories as JSON boxes; the
answer is parsed robustly (`qwen_parse`), mapped to pixels in the frame the model speaks
(`qwen_boxes`: relative 0-1000 for Qwen3-VL) and its labels matched back to the prompt.
Images are bounded by the processor's min/max pixels. bf16 on CUDA, fp32 on the CPU.
Weights come from a local folder or Hugging Face cache; the hub is never contacted.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from PIL import Image

from meshpipe import torchdevice
from meshpipe.errors import FailedPrecondition
from meshpipe.profiles import apply_profile, device_total_bytes, resolve_profile
from meshpipe.runtime.backend import BackendInfo
from meshpipe.torchcompat import ensure_torchvision
from meshpipe.weights import (
    WeightsSpec,
    missing_any,
    missing_transformers_files,
    require,
)
from services.detector.backends import DetectorBackend, DetectResult
from services.detector.backends.qwen_prompt import grounding_messages, span_scores, token_offsets
from services.detector.boxes import Box, Detection
from services.detector.options import DetectOptions
from services.detector.qwen_boxes import ModelFrame, match_labels, split_categories, to_pixels
from services.detector.qwen_parse import parse_answer
from services.detector.settings import DetectorSettings

log = logging.getLogger(__name__)

GIB = 1 << 30
_DEFAULT_FOOTPRINT_GIB = {"2b": 5.5, "4b": 10.0, "8b": 19.0}  # bf16 weights + 1 MP input
NO_PROMPT_NOTICE = "no categories given: the whole image is one object"


def weights_specs(settings: DetectorSettings) -> list[WeightsSpec]:
    """The model folder: config, weights, tokenizer and image processor files."""

    def missing(folder: Any) -> list[str]:
        return (
            missing_transformers_files(folder)
            + missing_any(folder, "tokenizer.json", "vocab.json")
            + missing_any(folder, "preprocessor_config.json", "processor_config.json")
        )

    return [
        WeightsSpec(
            "detector", "qwen-vl", settings.qwen_model, settings.models_dir, "hf-cache", missing
        )
    ]


def _size_key(model_id: str) -> str:
    match = re.search(r"(\d+)B", model_id, re.IGNORECASE)
    return f"{match.group(1)}b" if match else "2b"


class QwenVLBackend(torchdevice.SingleModuleLifecycle, DetectorBackend):
    """Qwen3-VL (2B/4B/8B Instruct) answering grounding prompts."""

    def __init__(self, settings: DetectorSettings) -> None:
        self.device = torchdevice.resolve_device(settings.device)
        self.profile = resolve_profile(
            settings.memory_profile, device_total_bytes(str(self.device))
        )
        self.settings = apply_profile(settings, "detector", self.profile)
        self.dtype = torchdevice.resolve_dtype(self.settings.dtype, self.device, half="bfloat16")
        self._model: Any = None
        self._processor: Any = None

    @property
    def info(self) -> BackendInfo:
        return BackendInfo("qwen3-vl", self.settings.qwen_model, str(self.device))

    @property
    def footprint_bytes(self) -> int:
        if self.device.type != "cuda":
            return 0
        key = _size_key(self.settings.qwen_model)
        sized = self.profile.stage("detector").footprint_bytes(key) if self.profile else 0
        return sized or int(_DEFAULT_FOOTPRINT_GIB.get(key, _DEFAULT_FOOTPRINT_GIB["8b"]) * GIB)

    # ------------------------------------------------------------------ lifecycle
    def load(self) -> None:
        folder = require(weights_specs(self.settings)[0])
        ensure_torchvision()
        from transformers import AutoModelForImageTextToText, AutoProcessor

        size = {"shortest_edge": self.settings.min_pixels, "longest_edge": self.settings.max_pixels}
        self._processor = AutoProcessor.from_pretrained(folder, size=size)
        model = AutoModelForImageTextToText.from_pretrained(folder, dtype=self.dtype)
        self._model = model.to(self.device).eval()
        log.info(
            "qwen-vl loaded from %s on %s (%s)",
            folder,
            self.device,
            torchdevice.dtype_name(self.dtype),
        )

    def warmup(self) -> None:
        probe = Image.new("RGB", (128, 96), (235, 235, 235))
        probe.paste((200, 40, 40), (40, 24, 88, 72))
        self._generate(probe, ["object"], max_new_tokens=8)

    def unload(self) -> None:
        self._model = None
        self._processor = None
        torchdevice.release_cached()

    # ------------------------------------------------------------------ inference
    def propose(self, image: Image.Image, prompt: str, options: DetectOptions) -> DetectResult:
        if self._model is None:
            raise FailedPrecondition("detector model is not loaded")
        categories = split_categories(prompt)
        if not categories:
            whole = Detection(Box(0.0, 0.0, float(image.width), float(image.height)), "object", 1.0)
            return DetectResult(
                [whole], category_filtering_applied=False, notices=[NO_PROMPT_NOTICE]
            )
        answer, frame, offsets, probs = self._generate(
            image.convert("RGB"), categories, self.settings.max_new_tokens
        )
        parsed = parse_answer(answer)
        scores = span_scores([b.span for b in parsed.boxes], offsets, probs)
        detections, notices = to_pixels(
            parsed.boxes, scores, frame, self.settings.coordinates, self.settings.on_absolute
        )
        detections, label_notices = match_labels(detections, categories)
        if len(offsets) >= self.settings.max_new_tokens:
            notices.append(f"the answer hit max_new_tokens={self.settings.max_new_tokens}")
        log.debug("qwen-vl answer: %s", answer)
        return DetectResult(detections, True, parsed.notices + notices + label_notices)

    def _generate(
        self, image: Image.Image, categories: list[str], max_new_tokens: int
    ) -> tuple[str, ModelFrame, list[int], list[float]]:
        """Greedy answer text, the frame the model saw, token end offsets and probabilities."""
        import torch

        inputs = self._processor.apply_chat_template(
            grounding_messages(image, categories),
            tokenize=True,
            add_generation_prompt=True,
            return_dict=True,
            return_tensors="pt",
        ).to(self.device)
        with torch.inference_mode():
            out = self._model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                output_scores=True,
                return_dict_in_generate=True,
            )
        new_ids = out.sequences[0, inputs["input_ids"].shape[1] :]
        probs = [
            float(torch.softmax(step[0].float(), dim=-1)[tok])
            for step, tok in zip(out.scores, new_ids.tolist(), strict=False)
        ]
        tokenizer = self._processor.tokenizer

        def decode(ids: Any) -> str:
            text: str = tokenizer.decode(ids, skip_special_tokens=True)
            return text

        ids = new_ids.tolist()
        return decode(ids), self._frame(image, inputs), token_offsets(ids, decode), probs

    def _frame(self, image: Image.Image, inputs: Any) -> ModelFrame:
        patch = int(self._processor.image_processor.patch_size)
        _, grid_h, grid_w = (int(v) for v in inputs["image_grid_thw"][0].tolist())
        return ModelFrame(image.width, image.height, grid_w * patch, grid_h * patch)
