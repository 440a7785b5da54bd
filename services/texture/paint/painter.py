"""The paint sequence of `Hunyuan3DPaintPipeline.__call__`, step by step, on hy3dgen's parts.

hy3dgen's pipeline object is built without its `__init__` (which loads both models on
'cuda' at fixed 2048 px sizes): its config gets our device, sizes and cameras, its
`MeshRender` our device and rasteriser, its `models` the wrappers from `models`. Its own
methods (recenter, multiview renders, bake, inpaint) then run unchanged; this module only
sequences them as upstream's `__call__` does, timing each step and loading one model at
a time where configured.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
from PIL import Image

from meshpipe.runtime.steps import StepTimer
from services.texture.paint.models import PaintModel
from services.texture.paint.residency import Residency
from services.texture.paint.settings import PaintSettings
from services.texture.paint.views import VIEW_SETS, ViewSet


def build_pipeline(
    settings: PaintSettings,
    device: Any,
    raster: ModuleType,
    models: dict[str, PaintModel],
    folders: dict[str, str],
) -> Any:
    """hy3dgen's `Hunyuan3DPaintPipeline` around our models, device, sizes and rasteriser."""
    from hy3dgen.texgen.differentiable_renderer.mesh_render import MeshRender
    from hy3dgen.texgen.pipelines import Hunyuan3DPaintPipeline, Hunyuan3DTexGenConfig

    config = Hunyuan3DTexGenConfig(folders["delight"], folders["multiview"])
    config.device = str(device)
    config.render_size = settings.render_size
    config.texture_size = settings.texture_size
    views = VIEW_SETS[settings.views]
    config.candidate_camera_elevs = list(views.elevs)
    config.candidate_camera_azims = list(views.azims)
    config.candidate_view_weights = list(views.weights)
    pipeline = Hunyuan3DPaintPipeline.__new__(Hunyuan3DPaintPipeline)
    pipeline.config = config
    pipeline.render = MeshRender(
        default_resolution=settings.render_size,
        texture_size=settings.texture_size,
        device=str(device),
    )
    pipeline.render.raster = raster
    pipeline.models = {
        "delight_model": models["delight"].wrapper,
        "multiview_model": models["multiview"].wrapper,
    }
    return pipeline


def paint(
    pipeline: Any,
    residency: Residency,
    models: dict[str, PaintModel],
    mesh: Any,
    image: Image.Image,
    texture_size: int,
    timer: StepTimer,
) -> Any:
    """Upstream's `__call__`, step by step: a textured trimesh for `mesh` and `image`."""
    from hy3dgen.texgen.utils.uv_warp_utils import mesh_uv_wrap

    config = pipeline.config
    views = ViewSet(
        tuple(config.candidate_camera_elevs),
        tuple(config.candidate_camera_azims),
        tuple(config.candidate_view_weights),
    )
    pipeline.render.set_default_texture_resolution(texture_size)
    with timer.step("recenter"):
        prompt = pipeline.recenter_image(image)
    with residency.use(models["delight"]), timer.step("delight"):
        prompt = pipeline.models["delight_model"](prompt)
    with timer.step("uv_wrap"):
        mesh = mesh_uv_wrap(mesh)
    with timer.step("load_mesh"):
        pipeline.render.load_mesh(mesh)
    with timer.step("render_normal"):
        normals = pipeline.render_normal_multiview(views.elevs, views.azims, use_abs_coor=True)
    with timer.step("render_position"):
        positions = pipeline.render_position_multiview(views.elevs, views.azims)
    with residency.use(models["multiview"]), timer.step("multiview"):
        images = pipeline.models["multiview_model"](
            prompt, normals + positions, views.camera_info()
        )
    with timer.step("bake"):
        size = (config.render_size, config.render_size)
        images = [im.resize(size) for im in images]
        texture, mask = pipeline.bake_from_multiview(
            images, views.elevs, views.azims, views.weights, method=config.merge_method
        )
    with timer.step("inpaint"):
        mask_np = (mask.squeeze(-1).cpu().numpy() * 255).astype(np.uint8)
        texture = pipeline.texture_inpaint(texture, mask_np)
    with timer.step("set_texture"):
        pipeline.render.set_texture(texture)
        return pipeline.render.save_mesh()
