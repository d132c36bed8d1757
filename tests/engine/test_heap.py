"""The run's heap settings and when a worker trims its heap after a partition."""

from __future__ import annotations

import subprocess
import sys

import pytest

import app.partition_task as partition_task
from geodx import heap

GLIBC = sys.platform.startswith("linux") and heap.heap_free() is not None

PROBE = """
import sys
import numpy as np
from geodx import heap
if sys.argv[1] == "tuned":
    assert heap.tune_heap()
before = heap.mallinfo().hblks
block = np.ones(8 * 1024**2 // 8)  # 8 MiB: mapped on its own by default
print(heap.mallinfo().hblks - before)
"""


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt and mallinfo2")
def test_tuned_heap_serves_an_8_mib_block_from_the_heap_not_a_mapping():
    def mapped(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
            check=True,
        )  # fmt: skip
        return int(out.stdout.strip())

    assert mapped("default") == 1
    assert mapped("tuned") == 0


@pytest.mark.parametrize(
    ("free", "keep", "trimmed"),
    [
        (100 * 1024**2, partition_task.KEEP_FREE, False),
        (300 * 1024**2, partition_task.KEEP_FREE, True),
        (None, partition_task.KEEP_FREE, True),  # not glibc: trimmed as before
        (100 * 1024**2, 0, True),  # before forking the workers: always
    ],
)
def test_release_memory_trims_only_above_what_is_kept(monkeypatch, free, keep, trimmed):
    calls: list[int] = []
    monkeypatch.setattr(partition_task, "heap_free", lambda: free)
    monkeypatch.setattr(partition_task, "trim_heap", lambda: calls.append(1))
    partition_task.release_memory(keep=keep)
    assert bool(calls) is trimmed
