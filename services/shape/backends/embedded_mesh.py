"""Embedded shape backend, step 3: clean, smooth, decimate and export the surface."""

from __future__ import annotations

import io
import logging

import numpy as np
import trimesh

from meshpipe.frontview import FrontView

log = logging.getLogger(__name__)

_DECIMATION_AGGRESSION = (7, 4)  # fast_simplification: higher is faster and coarser


def to_mesh(points: np.ndarray, faces: np.ndarray, view: FrontView) -> trimesh.Trimesh:
    """Mesh in the front-view frame from vertices given as crop (col, row, depth) pixels."""
    x, y = view.pixels_to_xy(points[:, 0], points[:, 1])
    z = points[:, 2] * view.units_per_pixel
    # No merging: marching cubes shares its vertices already, and merging by a distance
    # tolerance can fuse two sheets of a thin part into a non-manifold edge.
    mesh = trimesh.Trimesh(np.column_stack([x, y, z]), faces, process=False)
    if mesh.is_winding_consistent and mesh.volume < 0:
        mesh.invert()  # marching cubes' winding depends on the axis order: normals point out
    return mesh


def smooth(mesh: trimesh.Trimesh, iterations: int) -> None:
    """Volume-preserving Taubin smoothing in place (irons out the grid's terraces)."""
    if iterations > 0:
        trimesh.smoothing.filter_taubin(mesh, lamb=0.5, nu=0.53, iterations=iterations)


def decimate(mesh: trimesh.Trimesh, max_faces: int, *, closed: bool = True) -> trimesh.Trimesh:
    """Quadric decimation down to `max_faces`; a closed mesh is only replaced by a closed one
    unless `closed` is False (an explicit face target: then a closed reduction is still
    preferred, and an open one is taken when no pass keeps the mesh closed).

    The fast, aggressive pass now and then pinches an edge into four faces; a gentler pass
    is tried next, and the full mesh is kept when both open it. An open input (e.g. a
    production model's raw surface) takes the first reduction.
    """
    if max_faces <= 0 or len(mesh.faces) <= max_faces:
        return mesh
    must_stay_closed = mesh.is_watertight
    first: trimesh.Trimesh | None = None
    for aggression in _DECIMATION_AGGRESSION:
        reduced = mesh.simplify_quadric_decimation(face_count=max_faces, aggression=aggression)
        if len(reduced.faces) > 0 and (reduced.is_watertight or not must_stay_closed):
            return reduced
        first = first if first is not None or len(reduced.faces) == 0 else reduced
    if not closed and first is not None:
        log.warning("decimation to %d faces opened the mesh; keeping the open mesh", max_faces)
        return first
    log.warning(
        "decimation to %d faces opened the mesh; keeping %d faces", max_faces, len(mesh.faces)
    )
    return mesh


def to_glb(mesh: trimesh.Trimesh, view: FrontView) -> bytes:
    """GLB bytes of the mesh, with the front-view mapping in the scene's extras."""
    scene = trimesh.Scene()
    scene.add_geometry(mesh, geom_name="object")
    scene.metadata.update(view.to_extras())
    buf = io.BytesIO()
    scene.export(buf, file_type="glb")
    return buf.getvalue()
