"""Policy 'load-per-request' of the end-to-end benchmark, written as the load-per-request
tool works: one process, the jobs one after another; per job and stage: build the model,
load it, run every item of the job (the photo for the detector, each object's crop after),
delete it and empty the CUDA cache. The same backends, settings (the stages'
MESHPIPE_<STAGE>_* environment), inputs, steps and seeds as the meshpipe run; the stage
runtime's warm-up after a load is not done (the tool does none).

    python -m scripts.gpu.e2e_baseline --config config.json --photos DIR --out result.json

Writes the jobs' latencies (all submitted at the start) and a phase log: one entry per
load / run / unload with its stage, job, start, end and, on CUDA, the torch peak.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

Phase = dict[str, Any]


class Tool:
    """Runs jobs the load-per-request way and records every phase."""

    def __init__(self, seed: int, steps: int, octree_resolution: int, crop_padding: float):
        self.seed, self.steps, self.octree = seed, steps, octree_resolution
        self.padding = crop_padding
        self.phases: list[Phase] = []
        self.detector_notices: dict[str, list[str]] = {}

    def _timed(self, stage: str, job: str, kind: str, fn: Callable[[], Any]) -> Any:
        t0 = time.time()
        value = fn()
        self.phases.append({"stage": stage, "job": job, "kind": kind, "t0": t0, "t1": time.time()})
        return value

    def _with_model(self, stage: str, job: str, work: Callable[[Any], Any]) -> Any:
        from meshpipe.runtime.registry import load_spec

        spec = load_spec(stage)
        settings = spec.settings_cls()
        from meshpipe.runtime.simdevice import build_simulated

        build = _detector_factory() if stage == "detector" else spec.build_backend
        backend = self._timed(stage, job, "load", lambda: _loaded(build_simulated(build, settings)))
        self.phases[-1]["allocated"] = backend.memory().allocated
        try:
            backend.reset_peak_memory()
            result = self._timed(stage, job, "run", lambda: work(backend))
            self.phases[-1]["peak_reserved"] = backend.memory().peak_reserved
            self.phases[-1]["items"] = len(result) if isinstance(result, list) else 1
        finally:
            self._timed(stage, job, "unload", lambda: _drop(backend))
        return result

    def job(self, name: str, png: bytes) -> tuple[int, int]:
        """One job, stage by stage; returns (objects detected, objects textured)."""
        from meshpipe.images import decode_image

        image = decode_image(png, 40_000_000)
        notices = self.detector_notices.setdefault(name, [])
        boxes = self._with_model("detector", name, lambda b: _detect(b, image, notices))
        crops = [_crop(image, box, self.padding) for box in boxes]
        mattes = self._with_model("matting", name, lambda b: [b.matte(c).rgba for c in crops])
        seeds = [(self.seed + i) % 2**63 for i in range(len(mattes))]
        meshes = self._with_model(
            "shape",
            name,
            lambda b: [self._shape(b, m, s) for m, s in zip(mattes, seeds, strict=True)],
        )
        done = self._with_model(
            "texture",
            name,
            lambda b: [_paint(b, g, m, s) for g, m, s in zip(meshes, mattes, seeds, strict=True)],
        )
        return len(boxes), len(done)

    def _shape(self, backend: Any, rgba: Image.Image, seed: int) -> bytes:
        from services.shape.backends import ShapeRequest

        request = ShapeRequest(
            image=_png_roundtrip(rgba), seed=seed, steps=self.steps,
            octree_resolution=backend.resolution(self.octree), guidance_scale=0.0,
        )  # fmt: skip
        glb: bytes = backend.generate(request).glb
        return glb


def _detector_factory() -> Callable[[Any], Any]:
    from scripts.gpu.e2e_known_boxes import build_known_boxes

    return build_known_boxes


def _loaded(backend: Any) -> Any:
    backend.load()
    return backend


def _drop(backend: Any) -> None:
    from meshpipe.torchdevice import release_cached

    backend.unload()
    del backend
    release_cached()  # gc.collect() + torch.cuda.empty_cache(), as the tool does


def _detect(backend: Any, image: Image.Image, notices: list[str]) -> list[Any]:
    from services.detector.options import DetectOptions

    options = DetectOptions.resolve(0, 0.0, 0.0, backend.settings)
    result = backend.detect(image, "", options)
    notices.extend(result.notices)
    return [d.box for d in result.detections]


def _crop(image: Image.Image, box: Any, padding: float) -> Image.Image:
    from orchestrator.crops import crop_box
    from orchestrator.domain import Box

    b = crop_box(
        Box(x1=box.x1, y1=box.y1, x2=box.x2, y2=box.y2), padding, image.width, image.height
    )
    return image.crop((int(b.x1), int(b.y1), int(b.x2), int(b.y2)))


def _paint(backend: Any, glb: bytes, rgba: Image.Image, seed: int) -> bytes:
    from services.texture.backends import TextureRequest

    request = TextureRequest(mesh_glb=glb, image=_png_roundtrip(rgba),
                             texture_size=backend.texture_side(0), seed=seed)  # fmt: skip
    out: bytes = backend.paint(request).glb
    return out


def _png_roundtrip(image: Image.Image) -> Image.Image:
    """What a stage receives: the PNG the previous stage sent, decoded."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Image.open(io.BytesIO(buffer.getvalue())).copy()


def main(argv: list[str]) -> int:
    from orchestrator.settings import OrchestratorSettings
    from scripts.gpu.e2e_config import BenchConfig

    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--photos", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    config = BenchConfig.load(Path(args.config))
    padding = OrchestratorSettings().crop_padding
    tool = Tool(config.seed, config.shape_steps, config.octree_resolution, padding)
    photos = sorted(Path(args.photos).glob("job*.png"))
    t_start = time.time()
    jobs = []
    for path in photos:
        found, done = tool.job(path.stem, path.read_bytes())
        latency = time.time() - t_start
        notices = tool.detector_notices.get(path.stem, [])
        jobs.append({"name": path.stem, "objects": found, "latency_s": latency, "succeeded": done,
                     "detector_notices": notices})  # fmt: skip
        result = {"t_start": t_start, "t_end": time.time(), "jobs": jobs, "phases": tool.phases}
        result["complete"] = len(jobs) == len(photos)
        Path(args.out).write_text(json.dumps(result, indent=1))  # after every job
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
