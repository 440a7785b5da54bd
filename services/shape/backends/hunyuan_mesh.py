"""Hunyuan3D meshes: hy3dgen's post-processors, then placement in meshpipe's front view.

hy3dgen returns a mesh in its own box ([-1.01, 1.01]^3, y up, the input view looking down
-z). The texture stage projects the crop through `meshpipe.frontview`, so the mesh is
scaled and moved (uniformly, the model keeps the object's proportions) until its front
silhouette's bounding box matches the matte's bounding box in that frame.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import trimesh
from PIL import Image

from meshpipe.frontview import FrontView
from services.shape.backends.embedded_mesh import decimate

log = logging.getLogger(__name__)


# hy3dgen's post-processing parameters (hy3dgen.shapegen.postprocessors, 2.0.2).
FLOATER_FACE_RATIO = 0.005  # components with fewer faces than this share are floaters
_QUADRIC = {
    "qualitythr": 1.0,
    "preserveboundary": True,
    "boundaryweight": 3,
    "preservenormal": True,
    "preservetopology": True,
    "autoclean": True,
}


def postprocess(
    mesh: trimesh.Trimesh, max_faces: int, reducer: Literal["quadric", "fast"] = "quadric"
) -> trimesh.Trimesh:
    """hy3dgen's FloaterRemover, DegenerateFaceRemover and FaceReducer, in memory.

    The same pymeshlab filters with the same parameters, on one in-memory MeshSet: hy3dgen's
    own classes pass the mesh through temporary PLY files that they never delete (seven
    per mesh, tens of MB at octree 384), which would fill a long-running stage's disk
    (benchmarks/shape_postprocess.py). The cleaned mesh is reduced with hy3dgen's pymeshlab
    quadric edge collapse (`reducer="quadric"`) or with fast-simplification
    (`reducer="fast"`: the same surface in a fraction of the time).
    """
    import pymeshlab

    meshes = pymeshlab.MeshSet()
    meshes.add_mesh(
        pymeshlab.Mesh(
            vertex_matrix=np.asarray(mesh.vertices, dtype=np.float64),
            face_matrix=np.asarray(mesh.faces, dtype=np.int32),
        )
    )
    meshes.apply_filter(  # floaters
        "compute_selection_by_small_disconnected_components_per_face",
        nbfaceratio=FLOATER_FACE_RATIO,
    )
    meshes.apply_filter("compute_selection_transfer_face_to_vertex", inclusive=False)
    meshes.apply_filter("meshing_remove_selected_vertices_and_faces")
    for cleanup in (  # degenerate faces
        "meshing_remove_duplicate_vertices",
        "meshing_remove_duplicate_faces",
        "meshing_remove_null_faces",
        "meshing_remove_unreferenced_vertices",
    ):
        meshes.apply_filter(cleanup)
    reduce = 0 < max_faces < meshes.current_mesh().face_number()
    if reduce and reducer == "quadric":
        meshes.apply_filter(
            "meshing_decimation_quadric_edge_collapse", targetfacenum=max_faces, **_QUADRIC
        )
    out = meshes.current_mesh()
    if out.face_number() == 0:
        log.warning("post-processing left no faces; keeping the raw mesh")
        return mesh
    cleaned = trimesh.Trimesh(out.vertex_matrix(), out.face_matrix(), process=False)
    if reduce and reducer == "fast":
        cleaned = decimate(cleaned, max_faces)
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
