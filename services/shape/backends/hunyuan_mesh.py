"""Hunyuan3D meshes: hy3dgen's post-processors, then placement in meshpipe's front view.

hy3dgen returns a mesh in its own box ([-1.01, 1.01]^3, y up, the input view looking down
-z). The texture stage projects the crop through `meshpipe.frontview`, so the mesh is
scaled and moved (uniformly, the model keeps the object's proportions) until its front
silhouette's bounding box matches the matte's bounding box in that frame.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import trimesh
from PIL import Image

from meshpipe.frontview import FrontView

log = logging.getLogger(__name__)


def postprocess(mesh: trimesh.Trimesh, max_faces: int) -> trimesh.Trimesh:
    """FloaterRemover, DegenerateFaceRemover, then FaceReducer down to `max_faces`."""
    from hy3dgen.shapegen import DegenerateFaceRemover, FaceReducer, FloaterRemover

    cleaned: Any = FloaterRemover()(mesh)
    cleaned = DegenerateFaceRemover()(cleaned)
    if max_faces > 0:
        cleaned = FaceReducer()(cleaned, max_facenum=max_faces)
    if not isinstance(cleaned, trimesh.Trimesh) or len(cleaned.faces) == 0:
        log.warning("post-processing left no faces; keeping the raw mesh")
        return mesh
    return cleaned


def matte_box(image: Image.Image, threshold: int = 128) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) pixel bounds of the alpha >= threshold region."""
    alpha = np.asarray(image.getchannel("A")) >= threshold
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return 0, 0, image.width, image.height
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def place_in_front_view(mesh: trimesh.Trimesh, image: Image.Image) -> FrontView:
    """Scale and move `mesh` in place so its front silhouette covers the matte's box."""
    view = FrontView(image.width, image.height)
    left, top, right, bottom = matte_box(image)
    xs, ys = view.pixels_to_xy(np.array([left, right]), np.array([top, bottom]))
    lo, hi = mesh.bounds
    longest = max(float(hi[0] - lo[0]), float(hi[1] - lo[1]), 1e-9)
    scale = max(float(xs[1] - xs[0]), float(ys[0] - ys[1])) / longest
    centre = (lo + hi) / 2.0
    target = np.array([float(xs.mean()), float(ys.mean()), 0.0])
    mesh.apply_translation(-centre)
    mesh.apply_scale(scale)
    mesh.apply_translation(target)
    return view


def fix_winding(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Outward normals for closed meshes (hy3dgen flips faces once on export)."""
    if mesh.is_volume and mesh.volume < 0:
        mesh.invert()
    return mesh
