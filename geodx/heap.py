"""Freed memory handed back to the system: Arrow's pool and glibc's heap.

The allocators keep what a process freed for its next allocations. After reading a
national file, or after a partition, that is hundreds of MB a process holds but no
longer uses, fragmented; the partitioned engine's peak grew with the number of
partitions (10M households: 1.18 GB, not 0.65 GB) and a served worker kept 330 MB of
the cell table's replaced columns until they were released.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

import pyarrow as pa

#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
#: Blocks up to glibc's largest mmap threshold come from the heap and are reused.
MMAP_THRESHOLD = 32 * 1024**2
#: Free memory at the heap's top kept by ``free`` up to this (``trim_heap`` still
#: hands it back).
TRIM_THRESHOLD = 512 * 1024**2


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in [
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        ]
    ]


@functools.cache
def _libc() -> Any:
    """The C library if it is glibc (opened once), else None."""
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def mallinfo() -> _MallInfo2 | None:
    """The heap's figures (glibc ``mallinfo2``); None where unknown."""
    info = getattr(_libc(), "mallinfo2", None)
    if info is None:
        return None
    info.restype = _MallInfo2
    result: _MallInfo2 = info()
    return result


def tune_heap() -> bool:
    """Set glibc's heap for a run: blocks reused, not mapped and zeroed afresh.

    By default glibc maps every block over 128 KiB (a partition's arrays) on its own
    and unmaps it when freed, trims the heap's top beyond 128 KiB, and gives each
    thread that meets a locked arena an arena of its own; each new page is then
    zeroed by the kernel on first touch. National run, 56 partitions: 2.9M page
    faults, 10% of the CPU samples in the kernel's page clearing. With blocks up to
    32 MiB from the heap, its top kept up to 512 MiB and one arena, a worker's faults
    fell from 1.6M to 0.2-0.3M (``docs/scale.md``, "Sixth round"). Called before the
    process starts threads (``geodx run``); forked workers inherit it. False where the
    C library is not glibc (nothing set).
    """
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return False
    done = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    done &= mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    done &= mallopt(_M_ARENA_MAX, 1)
    return bool(done)


def heap_free() -> int | None:
    """Bytes the C heap holds free (glibc ``mallinfo2``); None where unknown."""
    info = mallinfo()
    return None if info is None else int(info.fordblks)


def trim_heap() -> None:
    """Hand the free pages of Arrow's pool and the C heap back (glibc ``malloc_trim``).

    Elsewhere than glibc only Arrow's pool is trimmed.
    """
    pa.default_memory_pool().release_unused()
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)
