"""Candidate fragments of triangles: their pixel bounding boxes, cut into bounded chunks.

Each triangle's candidate pixels are those whose centre lies inside its screen-space
bounding box. Boxes are split into row bands of at most ``budget`` pixels ("tasks") and
tasks are grouped into chunks of about ``budget`` pixels, so that the memory of one
rasterisation step is bounded whatever the triangle sizes are.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Tasks:
    """Row bands of triangle bounding boxes, in pixels (inclusive starts, exclusive ends)."""

    prim: torch.Tensor
    """[K] int64 primitive of each band."""
    x0: torch.Tensor
    """[K] first column."""
    nx: torch.Tensor
    """[K] number of columns."""
    y0: torch.Tensor
    """[K] first row."""
    ny: torch.Tensor
    """[K] number of rows."""

    def select(self, sl: slice) -> Tasks:
        return Tasks(self.prim[sl], self.x0[sl], self.nx[sl], self.y0[sl], self.ny[sl])


@dataclass(frozen=True)
class Fragments:
    """Candidate (primitive, pixel) pairs of one chunk."""

    prim: torch.Tensor
    """[T] int64 primitive index."""
    px: torch.Tensor
    """[T] int64 column."""
    py: torch.Tensor
    """[T] int64 row."""


def pixel_range(lo: torch.Tensor, hi: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """First and last pixel whose centre (p + 0.5) lies in [lo, hi], clamped to [0, size-1]."""
    first = torch.ceil(lo - 0.5).clamp(0, size - 1).long()
    last = torch.floor(hi - 0.5).clamp(-1, size - 1).long()
    return first, last


def bounding_tasks(
    sx: torch.Tensor, sy: torch.Tensor, height: int, width: int, budget: int
) -> Tasks:
    """Row bands of the pixel boxes of triangles with screen corners ``sx``, ``sy`` [P, 3]."""
    x0, x1 = pixel_range(sx.min(dim=1).values, sx.max(dim=1).values, width)
    y0, y1 = pixel_range(sy.min(dim=1).values, sy.max(dim=1).values, height)
    nx = (x1 - x0 + 1).clamp(min=0)
    ny = (y1 - y0 + 1).clamp(min=0)
    keep = (nx > 0) & (ny > 0)
    prim = torch.nonzero(keep).squeeze(1)
    x0, nx, y0, ny = x0[keep], nx[keep], y0[keep], ny[keep]
    rows = (budget // nx).clamp(min=1)
    bands = (ny + rows - 1) // rows
    if bool((bands == 1).all()):
        return Tasks(prim, x0, nx, y0, ny)
    owner = torch.repeat_interleave(torch.arange(prim.shape[0], device=prim.device), bands)
    first_band = torch.cumsum(bands, 0) - bands
    band = torch.arange(owner.shape[0], device=prim.device) - first_band[owner]
    start = y0[owner] + band * rows[owner]
    count = torch.minimum(rows[owner], y0[owner] + ny[owner] - start)
    return Tasks(prim[owner], x0[owner], nx[owner], start, count)


def chunks(tasks: Tasks, budget: int) -> Iterator[Fragments]:
    """Expand tasks into candidate fragments, about ``budget`` fragments at a time."""
    area = tasks.nx * tasks.ny
    if area.numel() == 0:
        return
    ends = torch.cumsum(area, 0)
    total = int(ends[-1])
    cuts = [0, area.shape[0]]
    if total > budget:
        marks = torch.arange(budget, total, budget, device=ends.device)
        cuts[1:1] = torch.searchsorted(ends, marks, right=True).tolist()
    for lo, hi in itertools.pairwise(cuts):
        if hi > lo:
            yield _expand(tasks.select(slice(lo, hi)), area[lo:hi])


def _expand(tasks: Tasks, area: torch.Tensor) -> Fragments:
    """Every pixel of every band of ``tasks``."""
    device = area.device
    owner = torch.repeat_interleave(torch.arange(area.shape[0], device=device), area)
    local = torch.arange(owner.shape[0], device=device) - (torch.cumsum(area, 0) - area)[owner]
    nx = tasks.nx[owner]
    return Fragments(
        prim=tasks.prim[owner],
        px=tasks.x0[owner] + local % nx,
        py=tasks.y0[owner] + local // nx,
    )
