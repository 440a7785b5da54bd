"""Near-plane clipping of clip-space triangles into rasterisable primitives.

A triangle with every vertex in front of the near plane (``z >= -w``) passes through
unchanged. One that crosses it is clipped (Sutherland-Hodgman against that single plane)
into one or two primitives that keep the original face index and carry a 3x3 matrix
mapping their own barycentrics to the face's, so that the rasteriser reports perspective-
correct barycentrics of the original face. A triangle entirely behind the plane is dropped.

After clipping every vertex has ``z/w >= -1``; with a standard projection that also means
``w > 0``. Primitives still holding a vertex with ``w <= 0`` (only possible with a
non-standard projection) or a non-finite coordinate are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Sub-triangles of the clipped polygon, as corner indices into (a, b, p, q) below.
_ONE_INSIDE = ((0, 2, 3),)  # a inside; p on a->b, q on a->c
_TWO_INSIDE = ((0, 1, 2), (0, 2, 3))  # a, b inside; p on b->c, q on a->c


@dataclass(frozen=True)
class Primitives:
    """Triangles ready for rasterisation, sorted by the face they come from."""

    clip: torch.Tensor
    """[P, 3, 4] float32 clip-space corners."""
    face: torch.Tensor
    """[P] int64 index of the original face."""
    to_face: torch.Tensor | None
    """[P, 3, 3] row k = corner k as barycentric weights of the face; None: identity."""


def make_primitives(pos: torch.Tensor, tri: torch.Tensor) -> Primitives:
    """Gather the triangles of ``tri`` from ``pos`` [N, 4] and clip them at the near plane."""
    corners = pos[tri.long()]  # [F, 3, 4]
    faces = torch.arange(tri.shape[0], device=pos.device)
    inside = corners[..., 2] + corners[..., 3] >= 0
    n_inside = inside.sum(dim=1)
    if bool((n_inside == 3).all()):
        return _drop_invalid(Primitives(corners, faces, None))
    eye = torch.eye(3, dtype=pos.dtype, device=pos.device)
    whole = n_inside == 3
    parts = [(corners[whole], faces[whole], eye.expand(int(whole.sum()), 3, 3))]
    for count, pattern in ((1, _ONE_INSIDE), (2, _TWO_INSIDE)):
        sel = n_inside == count
        if bool(sel.any()):
            parts.extend(_clip_group(corners[sel], faces[sel], inside[sel], count, pattern))
    clip = torch.cat([p[0] for p in parts])
    face = torch.cat([p[1] for p in parts])
    to_face = torch.cat([p[2] for p in parts])
    order = torch.sort(face, stable=True).indices
    return _drop_invalid(Primitives(clip[order], face[order], to_face[order]))


def _clip_group(
    corners: torch.Tensor,
    faces: torch.Tensor,
    inside: torch.Tensor,
    count: int,
    pattern: tuple[tuple[int, int, int], ...],
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Clip triangles with ``count`` corners inside into the sub-triangles of ``pattern``."""
    n = corners.shape[0]
    # Rotate the corners (keeping their cyclic order, hence the winding) so that the
    # inside corners come first: a alone (count 1) or a, b (count 2).
    first = inside.int().argmax(dim=1) if count == 1 else (inside.int().argmin(dim=1) + 1) % 3
    order = (first[:, None] + torch.arange(3, device=corners.device)) % 3  # [n, 3]
    rows = torch.arange(n, device=corners.device)[:, None]
    a, b, c = (corners[rows, order][:, k] for k in range(3))
    eye = torch.eye(3, dtype=corners.dtype, device=corners.device)
    wa, wb, wc = (eye[order[:, k]] for k in range(3))  # corner weights over the face
    if count == 1:
        (p, wp), (q, wq) = _cross(a, b, wa, wb), _cross(a, c, wa, wc)
    else:
        (p, wp), (q, wq) = _cross(b, c, wb, wc), _cross(a, c, wa, wc)
    points = torch.stack([a, b, p, q], dim=1)  # [n, 4, 4]
    weights = torch.stack([wa, wb, wp, wq], dim=1)  # [n, 4, 3]
    out = []
    for sub in pattern:
        idx = list(sub)
        out.append((points[:, idx], faces, weights[:, idx]))
    return out


def _cross(
    inner: torch.Tensor, outer: torch.Tensor, w_in: torch.Tensor, w_out: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Point where the edge inner->outer meets the plane z + w = 0, and its face weights."""
    d_in = inner[:, 2] + inner[:, 3]
    d_out = outer[:, 2] + outer[:, 3]
    t = (d_in / (d_in - d_out))[:, None]
    return inner + t * (outer - inner), w_in + t * (w_out - w_in)


def _drop_invalid(prims: Primitives) -> Primitives:
    """Drop primitives with a vertex at or behind the eye plane or a non-finite coordinate."""
    ok = (prims.clip[..., 3] > 0).all(dim=1) & torch.isfinite(prims.clip).all(dim=(1, 2))
    if bool(ok.all()):
        return prims
    to_face = None if prims.to_face is None else prims.to_face[ok]
    return Primitives(prims.clip[ok], prims.face[ok], to_face)
