"""Preview renders of textured meshes on the CPU: numpy only, no OpenGL, no torch.

A three-quarter view (the object turned by `yaw` about its vertical axis and tipped towards
the viewer by `pitch`), orthographic, fitted to a square image with a margin, lit by one
directional light plus ambient, textured from the mesh's UVs (bilinear), on a transparent
background. The triangles go through meshpipe's own numpy rasteriser (`meshpipe.raster`) at
`supersample` x the output size, then are reduced with alpha-weighted averaging, so edges
are anti-aliased without dark fringes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from meshpipe.raster import Fragments, rasterize

_LIGHT = np.array([-0.45, 0.6, 0.66])  # from the upper left, in front
_AMBIENT = 0.38


@dataclass(frozen=True)
class Surface:
    """One mesh to draw: vertices [N, 3] (x right, y up, z towards the viewer), faces
    [F, 3], vertex normals [N, 3], and either uv [N, 2] (v up) with texture [h, w, 3]
    uint8, or a flat base colour (RGB in [0, 1])."""

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    colour: tuple[float, float, float] = (0.72, 0.72, 0.72)


@dataclass(frozen=True)
class View:
    """Camera of a preview."""

    size: int = 512
    yaw_degrees: float = 35.0
    pitch_degrees: float = 22.0
    margin: float = 0.06
    supersample: int = 1


def render(surfaces: list[Surface], view: View | None = None) -> np.ndarray:
    """RGBA uint8 [size, size, 4] preview of the surfaces (transparent where empty)."""
    view = view or View()
    side = view.size * view.supersample
    rot = _rotation(view.yaw_degrees, view.pitch_degrees)
    points = [s.vertices @ rot.T for s in surfaces]
    if not points or sum(len(s.faces) for s in surfaces) == 0:
        return np.zeros((view.size, view.size, 4), dtype=np.uint8)
    lo = np.min([p.min(axis=0) for p in points], axis=0)
    hi = np.max([p.max(axis=0) for p in points], axis=0)
    scale = side * (1 - 2 * view.margin) / max(float((hi - lo)[:2].max()), 1e-9)
    centre = (lo + hi) / 2
    stacked = np.concatenate(points)
    screen = np.column_stack([stacked[:, 0] - centre[0], centre[1] - stacked[:, 1]])
    screen = screen * scale + side / 2
    faces = _stacked_faces(surfaces)
    front = _facing_viewer(screen[faces])
    fragments = rasterize(screen[faces[front]], side, side, stacked[:, 2][faces[front]])
    fragments = Fragments(fragments.pixel, front[fragments.face], fragments.bary)
    rgb = _shade(surfaces, faces, fragments, rot)
    image = np.zeros((side * side, 4), dtype=np.float32)
    image[fragments.pixel, :3] = rgb
    image[fragments.pixel, 3] = 1.0
    return _downsample(image.reshape(side, side, 4), view.supersample)


def _rotation(yaw_degrees: float, pitch_degrees: float) -> np.ndarray:
    """Turn about y by -yaw (the object's right side comes into view), then tip its top
    towards the viewer by pitch (about x)."""
    a, b = math.radians(-yaw_degrees), math.radians(pitch_degrees)
    yaw = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    pitch = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    return pitch @ yaw


def _facing_viewer(triangles: np.ndarray) -> np.ndarray:
    """Indices of the triangles whose front (counter-clockwise side) faces the viewer; rows
    grow downwards on screen, so those have a negative signed area there."""
    u, v = triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]
    return np.flatnonzero(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0] < 0)


def _stacked_faces(surfaces: list[Surface]) -> np.ndarray:
    offsets = np.cumsum([0] + [len(s.vertices) for s in surfaces[:-1]])
    return np.concatenate([s.faces + o for s, o in zip(surfaces, offsets, strict=True)])


def _shade(
    surfaces: list[Surface], faces: np.ndarray, fragments: Fragments, rot: np.ndarray
) -> np.ndarray:
    """Lit colour [N, 3] in [0, 1] of every fragment."""
    albedo = np.empty((len(fragments.pixel), 3), dtype=np.float32)
    start = 0
    for surface in surfaces:
        end = start + len(surface.faces)
        mine = (fragments.face >= start) & (fragments.face < end)
        albedo[mine] = _albedo(surface, fragments.face[mine] - start, fragments.bary[mine])
        start = end
    normals = np.concatenate([s.normals for s in surfaces]) @ rot.T
    n = _interpolate(fragments.bary, normals[faces[fragments.face]])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    n[n[:, 2] < 0] *= -1  # a back face seen through a hole: light its visible side
    light = _LIGHT / np.linalg.norm(_LIGHT)
    lambert = np.clip(n @ light, 0.0, 1.0).astype(np.float32)
    return albedo * (_AMBIENT + (1 - _AMBIENT) * lambert)[:, None]


def _albedo(surface: Surface, face: np.ndarray, bary: np.ndarray) -> np.ndarray:
    if surface.uv is None or surface.texture is None:
        return np.broadcast_to(np.asarray(surface.colour, dtype=np.float32), (len(face), 3))
    uv = _interpolate(bary, surface.uv[surface.faces[face]])
    return _bilinear(surface.texture, uv)


def _interpolate(bary: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Barycentric blend [N, D] of per-corner values [N, 3, D]."""
    return (
        bary[:, 0:1] * corners[:, 0] + bary[:, 1:2] * corners[:, 1] + bary[:, 2:3] * corners[:, 2]
    )


def _bilinear(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Texture colours [N, 3] in [0, 1] at uv [N, 2] (v up, clamped to the edge)."""
    h, w = texture.shape[:2]
    x = np.clip(uv[:, 0] * w - 0.5, 0, w - 1)
    y = np.clip((1.0 - uv[:, 1]) * h - 0.5, 0, h - 1)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None] / 255.0, (y - y0)[:, None]
    top = texture[y0, x0] * (1 / 255.0 - fx) + texture[y0, x1] * fx
    bottom = texture[y1, x0] * (1 / 255.0 - fx) + texture[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def _downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Alpha-weighted box reduction by `factor`, to RGBA uint8."""
    side = image.shape[0] // factor
    blocks = image.reshape(side, factor, side, factor, 4)
    alpha = blocks[..., 3].mean(axis=(1, 3))
    weighted = (blocks[..., :3] * blocks[..., 3:]).sum(axis=(1, 3))
    covered = blocks[..., 3].sum(axis=(1, 3))
    rgb = weighted / np.maximum(covered, 1e-9)[..., None]
    out = np.concatenate([rgb, alpha[..., None]], axis=2)
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)
