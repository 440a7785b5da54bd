"""Giving memory back to the operating system after a large request.

CPython and numpy free large arrays at once, but glibc's malloc keeps freed arenas (and
fragmented heap tops) mapped, so a process that once decoded a 40-megapixel photo keeps its
peak RSS for good. `release_memory` runs a full garbage collection, then glibc's
`malloc_trim(0)` (a no-op elsewhere).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

LARGE_PIXELS = 4_000_000  # requests at least this large give memory back afterwards


@functools.cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_memory() -> bool:
    """gc + malloc_trim(0); True when malloc_trim ran (glibc)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def release_after(pixels: int) -> bool:
    """Release memory if a request handled `pixels` or more; whether it did."""
    if pixels < LARGE_PIXELS:
        return False
    release_memory()
    return True
