"""Small test scenes in clip space (numpy), with cameras written out independently of hy3dgen."""

from __future__ import annotations

from typing import Any

import numpy as np
import trimesh


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """World -> camera (OpenGL: the camera looks down -z)."""
    forward = target - eye
    forward = forward / np.linalg.norm(forward)
    right = np.cross(forward, up)
    right = right / np.linalg.norm(right)
    true_up = np.cross(right, forward)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = right, true_up, -forward
    view[:3, 3] = -view[:3, :3] @ eye
    return view


def orthographic(scale: float = 1.2, near: float = 0.1, far: float = 100.0) -> np.ndarray:
    """hy3dgen's default orthographic camera box."""
    half = scale / 2
    proj = np.eye(4)
    proj[0, 0] = proj[1, 1] = 1.0 / half
    proj[2, 2] = -2.0 / (far - near)
    proj[2, 3] = -(far + near) / (far - near)
    return proj


def perspective(
    fov_deg: float = 49.13, aspect: float = 1.0, near: float = 0.1, far: float = 50.0
) -> np.ndarray:
    """OpenGL perspective projection."""
    f = 1.0 / np.tan(np.radians(fov_deg) / 2)
    proj = np.zeros((4, 4))
    proj[0, 0], proj[1, 1] = f / aspect, f
    proj[2, 2] = (far + near) / (near - far)
    proj[2, 3] = 2 * far * near / (near - far)
    proj[3, 2] = -1.0
    return proj


def to_clip(vertices: np.ndarray, mvp: np.ndarray) -> np.ndarray:
    """[N, 3] world points -> [N, 4] float32 clip coordinates."""
    homo = np.concatenate([vertices, np.ones((len(vertices), 1))], axis=1)
    return (homo @ mvp.T).astype(np.float32)


def front_camera(distance: float = 1.45) -> np.ndarray:
    return look_at(np.array([0.3, 0.4, distance]), np.zeros(3), np.array([0.0, 1.0, 0.0]))


def icosphere_ortho() -> tuple[np.ndarray, np.ndarray]:
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    return to_clip(mesh.vertices, orthographic() @ front_camera()), mesh.faces.astype(np.int32)


def rotated_cube(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    mesh = trimesh.creation.box(extents=(0.6, 0.5, 0.4))
    rot = trimesh.transformations.random_rotation_matrix(np.random.default_rng(seed).random(3))
    mesh.apply_transform(rot)
    return to_clip(mesh.vertices, orthographic() @ front_camera()), mesh.faces.astype(np.int32)


def random_overlapping(seed: int = 7, count: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Independent random triangles in NDC, overlapping each other at random depths."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-0.8, 0.8, (count, 1, 2))
    xy = centres + rng.normal(0, 0.25, (count, 3, 2))
    z = rng.uniform(-0.9, 0.9, (count, 3, 1))
    pos = np.concatenate([xy, z, np.ones((count, 3, 1))], axis=2).reshape(-1, 4)
    return pos.astype(np.float32), np.arange(count * 3, dtype=np.int32).reshape(count, 3)


def perspective_scene() -> tuple[np.ndarray, np.ndarray]:
    """A sphere and a box in front of it, seen in perspective from close by."""
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.5)
    box = trimesh.creation.box(extents=(0.3, 0.3, 0.3))
    box.apply_translation((0.25, 0.1, 0.55))
    mesh: Any = trimesh.util.concatenate([sphere, box])
    cam = look_at(np.array([0.4, 0.3, 1.6]), np.zeros(3), np.array([0.0, 1.0, 0.0]))
    return to_clip(mesh.vertices, perspective() @ cam), mesh.faces.astype(np.int32)


def ground_through_camera() -> tuple[np.ndarray, np.ndarray]:
    """A ground grid that extends behind the camera: many triangles cross the near plane."""
    xs = np.linspace(-3, 3, 7)
    zs = np.linspace(-4, 3, 8)
    gx, gz = np.meshgrid(xs, zs)
    vertices = np.stack([gx.ravel(), np.full(gx.size, -0.4), gz.ravel()], axis=1)
    faces = []
    nx = len(xs)
    for r in range(len(zs) - 1):
        for c in range(nx - 1):
            i = r * nx + c
            faces += [(i, i + nx, i + 1), (i + 1, i + nx, i + nx + 1)]
    cam = look_at(
        np.array([0.1, -0.25, 0.5]), np.array([0.1, -0.4, -1.0]), np.array([0.0, 1.0, 0.0])
    )
    return to_clip(vertices, perspective(near=0.2) @ cam), np.asarray(faces, dtype=np.int32)
