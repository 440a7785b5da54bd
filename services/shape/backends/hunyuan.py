"""Production shape backend: Hunyuan3D-2 DiT flow matching (`hy3dgen.shapegen`, docs/design.md §Pipeline).

Loads a variant (v2-0, v2-mini, their -fast and -turbo forms) through hy3dgen's own
`from_single_file` from a local folder (never the hub), optionally with FlashVDM decoding
and host-memory offload, runs it on batches of crops, cleans the mesh with hy3dgen's
post-processors and places it in meshpipe's front view. Park/wake moves the weights
between the GPU and pinned host memory; `memory()` reads torch's allocator.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from meshpipe import torchdevice
from meshpipe.errors import FailedPrecondition, InvalidInput, MeshpipeError
from meshpipe.options import GUIDANCE_SCALE, STEPS
from meshpipe.profiles import apply_profile, device_total_bytes, resolve_profile
from meshpipe.runtime.backend import BackendInfo, DeviceMemory
from meshpipe.torchcompat import ensure_torchvision
from meshpipe.weights import WeightsSpec, require
from services.shape.backends import ShapeBackend, ShapeRequest, ShapeResult
from services.shape.backends.embedded_mesh import decimate, to_glb
from services.shape.backends.hunyuan_mesh import fix_winding, place_in_front_view, postprocess
from services.shape.backends.hunyuan_offload import enable_offload, offload_all
from services.shape.backends.hunyuan_variants import (
    Variant,
    checkpoint_name,
    variant_named,
    weights_spec,
)
from services.shape.settings import ShapeSettings

log = logging.getLogger(__name__)

GIB = 1 << 30
# Lease estimates without a memory profile: peak reserved at octree 256 (weights +
# activations; the arbiter adds the CUDA context).
_DEFAULT_FOOTPRINT_GIB = {"v2-mini": 7.8, "v2-0": 10.1}
_WARMUP_RESOLUTION = 64


def weights_specs(settings: ShapeSettings) -> list[WeightsSpec]:
    """What the configured variant needs on disk (for `meshpipe weights` and `auto`)."""
    variant = variant_named(settings.hunyuan_variant)
    return [
        weights_spec(
            variant, settings.models_dir, settings.weights_variant, _flashvdm(settings, variant)
        )
    ]


def _flashvdm(settings: ShapeSettings, variant: Variant) -> bool:
    return settings.flashvdm == "on" or (settings.flashvdm == "auto" and variant.turbo)


class HunyuanShapeBackend(ShapeBackend):
    """Hunyuan3D-2 DiT + ShapeVAE + DINOv2 conditioner, served from a local folder."""

    def __init__(self, settings: ShapeSettings) -> None:
        self.device = torchdevice.resolve_device(settings.device)
        self.profile = resolve_profile(
            settings.memory_profile, device_total_bytes(str(self.device))
        )
        super().__init__(apply_profile(settings, "shape", self.profile))
        self.variant = variant_named(self.settings.hunyuan_variant)
        self.dtype = torchdevice.resolve_dtype(self.settings.dtype, self.device, half="float16")
        self.flashvdm = _flashvdm(self.settings, self.variant)
        self._pipeline: Any = None
        self._hooks: list[Any] = []

    # ------------------------------------------------------------------ identity
    @property
    def info(self) -> BackendInfo:
        weights = f"{self.variant.repo_id}/{self.variant.dit}"
        return BackendInfo("hunyuan3d-dit", weights, str(self.device))

    @property
    def footprint_bytes(self) -> int:
        if self.device.type != "cuda":
            return 0
        family = self.variant.family
        sized = self.profile.stage("shape").footprint_bytes(family) if self.profile else 0
        return sized or int(_DEFAULT_FOOTPRINT_GIB[family] * GIB)

    # ------------------------------------------------------------------ lifecycle
    def load(self) -> None:
        repo = require(weights_specs(self.settings)[0])
        ensure_torchvision()
        from hy3dgen.shapegen import Hunyuan3DDiTFlowMatchingPipeline

        folder = repo / self.variant.dit
        ckpt = folder / checkpoint_name(self.settings.weights_variant)
        pipeline = Hunyuan3DDiTFlowMatchingPipeline.from_single_file(
            str(ckpt),
            str(folder / "config.yaml"),
            device="cpu",
            dtype=self.dtype,
            use_safetensors=True,
        )
        if self.flashvdm:
            self._enable_flashvdm(pipeline, repo)
        if self.settings.offload == "none" or self.device.type != "cuda":
            pipeline.to(device=self.device)
        else:
            pipeline.device = self.device
            self._hooks = enable_offload(pipeline, self.settings.offload, self.device)
        self._pipeline = pipeline
        log.info(
            "hunyuan3d %s loaded from %s on %s (%s, offload %s, flashvdm %s)",
            self.variant.name,
            folder,
            self.device,
            torchdevice.dtype_name(self.dtype),
            self.settings.offload,
            self.flashvdm,
        )

    def _enable_flashvdm(self, pipeline: Any, repo: Path) -> None:
        if self.variant.turbo:
            from hy3dgen.shapegen.models import ShapeVAE

            vae_folder = repo / self.variant.turbo_vae
            pipeline.vae = ShapeVAE.from_single_file(
                str(vae_folder / checkpoint_name(self.settings.weights_variant)),
                str(vae_folder / "config.yaml"),
                device="cpu",
                dtype=self.dtype,
                use_safetensors=True,
            )
        pipeline.vae.enable_flashvdm_decoder(
            enabled=True, adaptive_kv_selection=True, topk_mode="mean", mc_algo="mc"
        )

    def warmup(self) -> None:
        image = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
        ImageDraw.Draw(image).ellipse((16, 12, 80, 84), fill=(180, 120, 90, 255))
        self._run(
            [image],
            [0],
            steps=2,
            guidance=self.settings.guidance_scale,
            resolution=min(_WARMUP_RESOLUTION, self.settings.octree_resolution),
        )

    def park(self) -> None:
        offload_all(self._hooks)
        torchdevice.park(self._modules())

    def wake(self) -> None:
        if not self._hooks:
            torchdevice.wake(self._modules(), self.device)

    def unload(self) -> None:
        self._pipeline = None
        self._hooks = []
        torchdevice.release_cached()

    def memory(self) -> DeviceMemory:
        return torchdevice.device_memory(self.device)

    def reset_peak_memory(self) -> None:
        torchdevice.reset_peak(self.device)

    def _modules(self) -> list[Any]:
        p = self._pipeline
        return [] if p is None else [p.conditioner, p.model, p.vae]

    # ------------------------------------------------------------------ inference
    def generate(self, request: ShapeRequest) -> ShapeResult:
        (result,) = self.generate_batch([request])
        if isinstance(result, MeshpipeError):
            raise result
        return result

    def generate_batch(self, requests: Sequence[ShapeRequest]) -> list[ShapeResult | MeshpipeError]:
        """One pipeline call per group of requests sharing steps, guidance and resolution.

        A request with invalid knobs, or whose surface comes out empty, gets its error in
        its slot; its siblings keep their meshes."""
        results: dict[int, ShapeResult | MeshpipeError] = {}
        groups: dict[tuple[int, float, int], list[int]] = {}
        for i, r in enumerate(requests):
            try:
                groups.setdefault(self._knobs(r), []).append(i)
            except InvalidInput as exc:
                results[i] = exc
        for (steps, guidance, resolution), members in groups.items():
            batch = [requests[i] for i in members]
            t0 = time.perf_counter()
            meshes = self._run(
                [r.image for r in batch], [r.seed for r in batch], steps, guidance, resolution
            )
            generate_s = (time.perf_counter() - t0) / len(batch)
            for i, request, mesh in zip(members, batch, meshes, strict=True):
                try:
                    results[i] = self._finish(mesh, request, generate_s)
                except FailedPrecondition as exc:
                    results[i] = exc
        return [results[i] for i in range(len(requests))]

    def _resolve_knobs(self, request: ShapeRequest) -> ShapeRequest:
        """The base's knobs plus steps (0 = the settings', else the variant's) and guidance
        (0 = the settings'), against the knob table of meshpipe.options."""
        steps_default = self.settings.steps or self.variant.default_steps
        return replace(
            super()._resolve_knobs(request),
            steps=int(STEPS.resolve(request.steps, steps_default)),
            guidance_scale=float(
                GUIDANCE_SCALE.resolve(request.guidance_scale, self.settings.guidance_scale)
            ),
        )

    def _knobs(self, request: ShapeRequest) -> tuple[int, float, int]:
        r = self.resolve(request)
        return r.steps, r.guidance_scale, r.octree_resolution

    def _run(
        self,
        images: list[Image.Image],
        seeds: list[int],
        steps: int,
        guidance: float,
        resolution: int,
    ) -> list[Any]:
        if self._pipeline is None:
            raise FailedPrecondition("shape model is not loaded")
        import torch

        generators = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
        try:
            meshes: list[Any] = self._pipeline(
                image=images,
                num_inference_steps=steps,
                guidance_scale=guidance,
                octree_resolution=resolution,
                num_chunks=self.settings.num_chunks,
                generator=generators if len(generators) > 1 else generators[0],
                output_type="trimesh",
                enable_pbar=False,
            )
        finally:
            offload_all(self._hooks)
        return meshes

    def _finish(self, mesh: Any, request: ShapeRequest, generate_s: float) -> ShapeResult:
        if mesh is None or len(mesh.faces) == 0:
            raise FailedPrecondition(
                "the shape model found no surface for this object (try another seed or more steps)"
            )
        steps = {"generate": generate_s}
        t0 = time.perf_counter()
        max_faces = self.face_budget(request)
        if self.settings.postprocess:
            mesh = postprocess(mesh, max_faces, self.settings.face_reducer)
        elif max_faces and len(mesh.faces) > max_faces:
            # Without hy3dgen's pymeshlab post-processing, still bound the mesh (and the
            # response size): marching cubes at octree 256+ yields millions of faces.
            mesh = decimate(mesh, max_faces)
        mesh = fix_winding(mesh)
        t1 = time.perf_counter()
        view = place_in_front_view(mesh, request.image)
        glb = to_glb(mesh, view)
        steps.update(postprocess=t1 - t0, export=time.perf_counter() - t1)
        return ShapeResult(
            glb, len(mesh.vertices), len(mesh.faces), bool(mesh.is_watertight), steps
        )
