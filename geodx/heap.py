"""Freed memory handed back to the system: Arrow's pool and glibc's heap.

The allocators keep what a process freed for its next allocations. After reading a
national file, or after a partition, that is hundreds of MB a process holds but no
longer uses, fragmented; the partitioned engine's peak grew with the number of
partitions (10M households: 1.18 GB, not 0.65 GB) and a served worker kept 330 MB of
the cell table's replaced columns until they were released.
"""

from __future__ import annotations

import ctypes

import pyarrow as pa


def trim_heap() -> None:
    """Hand the free pages of Arrow's pool and the C heap back (glibc ``malloc_trim``).

    Elsewhere than glibc only Arrow's pool is trimmed.
    """
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return
