"""Pure-PyTorch triangle rasteriser with the conventions of hy3dgen's ``custom_rasterizer``.

``rasterize(pos, tri, (H, W))`` returns, per pixel, the index + 1 of the nearest triangle
(0 = background) and its perspective-corrected barycentrics, exactly as the compiled
extension does:

* screen mapping ``x = (x/w * 0.5 + 0.5) * (W - 1) + 0.5`` (same for y, no flip); pixel
  (px, py) is sampled at its centre (px + 0.5, py + 0.5); row py of the output is y;
* coverage: all three screen-space barycentrics in [0, 1] (edges inclusive); both windings
  are rasterised (no culling); zero-area triangles cover nothing;
* depth ``z/w * 0.49999 + 0.5`` interpolated in screen space, nearest wins; equal depths
  (after quantisation to 2^24 levels, finer than the extension's 2^18) go to the lowest
  face index, deterministically;
* barycentrics ``b_i = s_i / w_i`` normalised, from the screen-space ones ``s_i``.

Where the extension is undefined this module clips instead: triangles crossing the near
plane ``z = -w`` are clipped there (see ``clipping``), so nothing behind the camera is
drawn and the barycentrics stay those of the original face.

Work is vectorised: triangles are binned by their pixel bounding boxes, candidate
fragments are processed in chunks of bounded size, and the depth test is a
``scatter_reduce(amin)`` over packed (depth, primitive) int64 keys. It runs on any device
torch supports.
"""

from __future__ import annotations

import torch

from services.texture.paint.clipping import Primitives, make_primitives
from services.texture.paint.fragments import Fragments, bounding_tasks, chunks

DEPTH_LEVELS = 1 << 24
"""Quantisation of the [0, 1] depth range in the depth test."""
_MAX_DEPTH_KEY = (1 << 30) - 1
_PRIM_BITS = 32
_EMPTY = torch.iinfo(torch.int64).max
_OCCLUSION_TRUNCATION = 1e-6


def default_budget(device: torch.device) -> int:
    """Candidate fragments per chunk: bounds peak memory at ~150 bytes per fragment."""
    return 1 << 22 if device.type == "cuda" else 1 << 20


def rasterize(
    pos: torch.Tensor,
    tri: torch.Tensor,
    resolution: tuple[int, int] | list[int],
    clamp_depth: torch.Tensor | None = None,
    use_depth_prior: int = 0,
    *,
    budget: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rasterise ``tri`` [F, 3] over clip-space ``pos`` [1, N, 4] at ``resolution`` (H, W).

    Returns ``findices`` int32 [H, W] (face index + 1, 0 = background) and
    ``barycentric`` float32 [H, W, 3]. With ``use_depth_prior``, fragments nearer than
    ``clamp_depth`` [H, W] (NDC depth, mapped like vertex depths, plus 1e-6) are skipped,
    as in the extension.
    """
    if pos.device != tri.device:
        raise ValueError(f"pos is on {pos.device} but tri is on {tri.device}")
    verts = (pos[0] if pos.dim() == 3 else pos).float()
    height, width = int(resolution[0]), int(resolution[1])
    budget = max(budget or default_budget(verts.device), width)
    prims = make_primitives(verts, tri)
    sx, sy, sz = _screen(prims.clip, height, width)
    prior = None
    if use_depth_prior and clamp_depth is not None and clamp_depth.numel():
        prior = clamp_depth.reshape(-1).float() * 0.49999 + 0.5 + _OCCLUSION_TRUNCATION
    zbuf = torch.full((height * width,), _EMPTY, dtype=torch.int64, device=verts.device)
    setup = _setup(sx, sy, sz)
    for frags in chunks(bounding_tasks(sx, sy, height, width, budget), budget):
        _depth_test(zbuf, frags, setup, width, prior)
    return _resolve(zbuf, prims, setup, height, width)


def interpolate(
    col: torch.Tensor, findices: torch.Tensor, barycentric: torch.Tensor, tri: torch.Tensor
) -> torch.Tensor:
    """Vertex attributes ``col`` [1, N, C] at every pixel: [1, H, W, C] (0 on background)."""
    f = findices - 1 + (findices == 0)
    vcol = col[0, tri.long()[f.long()]]  # [H, W, 3, C]
    result = (barycentric.unsqueeze(-1) * vcol).sum(dim=-2)
    return result.unsqueeze(0)


def _screen(
    clip: torch.Tensor, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Screen x, y and depth [P, 3] of primitive corners (float32, the extension's formulas)."""
    w = clip[..., 3]
    sx = (clip[..., 0] / w * 0.5 + 0.5) * (width - 1) + 0.5
    sy = (clip[..., 1] / w * 0.5 + 0.5) * (height - 1) + 0.5
    sz = clip[..., 2] / w * 0.49999 + 0.5
    return sx, sy, sz


def _setup(sx: torch.Tensor, sy: torch.Tensor, sz: torch.Tensor) -> torch.Tensor:
    """Per-primitive edge terms [P, 10]: ax, ay, bx-ax, by-ay, cx-ax, cy-ay, 1/area, z0..z2.

    Zero-area primitives get 1/area = NaN, which fails every coverage comparison.
    """
    ax, ay = sx[:, 0], sy[:, 0]
    ex1, ey1 = sx[:, 1] - ax, sy[:, 1] - ay
    ex2, ey2 = sx[:, 2] - ax, sy[:, 2] - ay
    area = ex2 * ey1 - ex1 * ey2
    inv = torch.where(area != 0, 1.0 / area, torch.full_like(area, float("nan")))
    return torch.stack([ax, ay, ex1, ey1, ex2, ey2, inv, sz[:, 0], sz[:, 1], sz[:, 2]], dim=1)


def _screen_barycentrics(
    terms: torch.Tensor, px: torch.Tensor, py: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Screen-space barycentrics of pixel centres, the extension's arithmetic."""
    dx = px.float() + 0.5 - terms[:, 0]
    dy = py.float() + 0.5 - terms[:, 1]
    ex1, ey1, ex2, ey2, inv = terms[:, 2], terms[:, 3], terms[:, 4], terms[:, 5], terms[:, 6]
    beta = (ex2 * dy - dx * ey2) * inv
    gamma = (dx * ey1 - ex1 * dy) * inv
    return 1.0 - beta - gamma, beta, gamma


def _depth_test(
    zbuf: torch.Tensor,
    frags: Fragments,
    setup: torch.Tensor,
    width: int,
    prior: torch.Tensor | None,
) -> None:
    """Keep, per pixel, the smallest (depth, primitive) key among the covered fragments."""
    terms = setup.index_select(0, frags.prim)
    alpha, beta, gamma = _screen_barycentrics(terms, frags.px, frags.py)
    inside = (alpha >= 0) & (alpha <= 1) & (beta >= 0) & (beta <= 1) & (gamma >= 0) & (gamma <= 1)
    depth = alpha * terms[:, 7] + beta * terms[:, 8] + gamma * terms[:, 9]
    keep = inside & (depth >= 0)
    pixel = frags.py * width + frags.px
    if prior is not None:
        keep &= depth >= prior[pixel]
    pixel, depth, prim = pixel[keep], depth[keep], frags.prim[keep]
    level = (depth.double() * DEPTH_LEVELS).long().clamp(max=_MAX_DEPTH_KEY)
    keys = (level << _PRIM_BITS) | (prim + 1)
    zbuf.scatter_reduce_(0, pixel, keys, reduce="amin")


def _resolve(
    zbuf: torch.Tensor,
    prims: Primitives,
    setup: torch.Tensor,
    height: int,
    width: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Face indices and perspective-corrected barycentrics of the winning primitives."""
    device = zbuf.device
    findices = torch.zeros(height * width, dtype=torch.int32, device=device)
    barycentric = torch.zeros(height * width, 3, dtype=torch.float32, device=device)
    pixel = torch.nonzero(zbuf != _EMPTY).squeeze(1)
    if pixel.numel() == 0:
        return findices.view(height, width), barycentric.view(height, width, 3)
    prim = (zbuf[pixel] & ((1 << _PRIM_BITS) - 1)) - 1
    terms = setup.index_select(0, prim)
    alpha, beta, gamma = _screen_barycentrics(terms, pixel % width, pixel // width)
    w = prims.clip[..., 3].index_select(0, prim)
    bary = torch.stack([alpha, beta, gamma], dim=1) / w
    bary = bary / bary.sum(dim=1, keepdim=True)
    if prims.to_face is not None:
        bary = torch.bmm(bary.unsqueeze(1), prims.to_face.index_select(0, prim)).squeeze(1)
    findices[pixel] = (prims.face.index_select(0, prim) + 1).to(torch.int32)
    barycentric[pixel] = bary
    return findices.view(height, width), barycentric.view(height, width, 3)
