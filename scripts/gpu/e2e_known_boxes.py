"""The benchmark's detector: the production backend runs in full (Qwen3-VL generates its
tokens: its time and memory are real), then, because random weights give no valid boxes,
the boxes come from the benchmark's known boxes (`MESHPIPE_E2E_KNOWN_BOXES`, a JSON file
written by e2e_inputs.py). Every result carries a notice saying so. A job without a prompt
asks the model for "object": the production detector answers an empty prompt with the
whole image and generates nothing.

    python -m scripts.gpu.e2e_known_boxes stage detector --port 0 --metrics-port 0 --ready-file F

serves the detector stage (settings from MESHPIPE_DETECTOR_*, worker mode included) with
this backend around the configured one; the load-per-request script builds it too.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from PIL import Image

from meshpipe.runtime.backend import BackendInfo
from meshpipe.runtime.server import serve_stage
from services.detector.backends import DetectorBackend, DetectResult, build_backend
from services.detector.boxes import Box, Detection
from services.detector.options import DetectOptions
from services.detector.service import SPEC
from services.detector.settings import DetectorSettings

KNOWN_BOXES_ENV = "MESHPIPE_E2E_KNOWN_BOXES"
GENERATION_PROMPT = "object"
NOTICE = "boxes: the benchmark input's known boxes (random-weight detector; its answer ignored)"
IGNORED_PREFIX = "ignored answer: "  # the production detector's own notices, passed on


class KnownBoxesDetector(DetectorBackend):
    """Runs `inner` (the production detector), answers with the photo's known boxes."""

    def __init__(
        self, inner: DetectorBackend, table: dict[str, Any], settings: DetectorSettings
    ) -> None:
        self.inner = inner
        self.table = table
        self.settings = settings

    @property
    def info(self) -> BackendInfo:
        inner = self.inner.info
        return BackendInfo(f"{inner.backend}+known-boxes", inner.weights, inner.device)

    @property
    def footprint_bytes(self) -> int:
        return self.inner.footprint_bytes

    def load(self) -> None:
        self.inner.load()

    def warmup(self) -> None:
        self.inner.warmup()

    def park(self) -> None:
        self.inner.park()

    def wake(self) -> None:
        self.inner.wake()

    def unload(self) -> None:
        self.inner.unload()

    def memory(self) -> Any:
        return self.inner.memory()

    def reset_peak_memory(self) -> None:
        self.inner.reset_peak_memory()

    def propose(self, image: Image.Image, prompt: str, options: DetectOptions) -> DetectResult:
        from scripts.gpu.e2e_inputs import pixel_key

        # The model's real cost, answer ignored. A prompt is needed: without one the
        # production detector answers with the whole image and generates nothing.
        answer = self.inner.propose(image, prompt or GENERATION_PROMPT, options)
        boxes = self.table.get(pixel_key(image), [])
        found = [
            Detection(box=_box(b), label=f"object {i}", score=1.0) for i, b in enumerate(boxes)
        ]
        ignored = [f"{IGNORED_PREFIX}{n}" for n in answer.notices]  # e.g. hit max_new_tokens
        return DetectResult(found, False, [NOTICE, *ignored])


def _box(values: list[int]) -> Box:
    return Box(*(float(v) for v in values))


def build_known_boxes(settings: DetectorSettings) -> KnownBoxesDetector:
    """The configured detector backend, wrapped (a picklable factory for worker mode)."""
    from scripts.gpu.e2e_inputs import read_known_boxes

    table = read_known_boxes(Path(os.environ[KNOWN_BOXES_ENV]))
    return KnownBoxesDetector(build_backend(settings), table, settings)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["stage"])
    parser.add_argument("name", choices=["detector"])
    for flag in ("--host", "--port", "--metrics-port", "--backend", "--ready-file"):
        parser.add_argument(flag)
    args = parser.parse_args(argv)
    overrides = {
        key: value
        for key, value in vars(args).items()
        if key not in ("command", "name") and value is not None
    }
    settings = DetectorSettings(**overrides)
    spec = dataclasses.replace(SPEC, build_backend=build_known_boxes)
    asyncio.run(serve_stage(spec, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
