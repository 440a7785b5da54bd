"""Free space on the output volume: the admission guard, the reserve kept for bookkeeping,
and turning "no space left" into a DiskFull error with the numbers."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from meshpipe.errors import DiskFull

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def free_bytes(path: Path) -> int:
    """Bytes available to this process on the volume holding `path` (or its nearest parent)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return shutil.disk_usage(candidate).free
    return shutil.disk_usage(".").free


def human(n: float) -> str:
    """Bytes in a short human form (1.5 MiB)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def check_admission(root: Path, min_free: int) -> int:
    """Refuse new work while the output volume has less than `min_free` bytes free; the
    free bytes."""
    free = free_bytes(root)
    if free < min_free:
        raise DiskFull(
            f"output volume {root} has {human(free)} ({free} bytes) free, below the "
            f"{human(min_free)} ({min_free} bytes) kept free (min_free_bytes); "
            "retry once space is freed"
        )
    return free


def check_write(root: Path, size: int, reserve: int) -> None:
    """Refuse a write of `size` bytes that would eat into the `reserve` kept for the job
    store and manifests (so that a job can still be finished and recorded)."""
    free = free_bytes(root)
    if free - size < reserve:
        raise DiskFull(
            f"output volume is full: writing {human(size)} would leave {human(free - size)} "
            f"free, under the {human(reserve)} reserved for the job store "
            f"({free} bytes free, {size} needed, {reserve} reserved)"
        )


def is_disk_full(exc: BaseException) -> bool:
    """True for 'no space left on device' / 'disk quota exceeded'."""
    return isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS


def disk_full_error(root: Path, size: int, exc: OSError) -> DiskFull:
    """The DiskFull error for a write that failed with ENOSPC/EDQUOT."""
    return DiskFull(
        f"output volume is full: writing {human(size)} failed ({exc.strerror}); "
        f"{free_bytes(root)} bytes free"
    )
