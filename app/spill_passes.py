"""The split's two passes (``app.spill``), each a batch at a time on both cores.

Pass 1 (:func:`count_pass`) reads the households once. The batches are read in order
by the calling thread; two worker threads check each batch against the reader's value
rules, compute its H3 cells at the cell table's resolution (``app.split_h3``: each
household's face address in numpy, the library's cell once per distinct address;
both free the GIL), write the cells at their rows' place in a scratch file (8 bytes
a household), and count the batch's household points per cell at the partition
counts' resolution.
The batches' facts are then summed in the order of the batches, so every sum is the
same additions as one batch after the other.

Pass 2 (:func:`scatter_pass`) reads the very same batches again (decoding a Parquet
batch costs less than writing every household's record into the scratch file and
reading it back); the workers take each batch's cells back from the scratch file, find
each household's partition (the runs of parent cells, ``app.spill.pack_partitions``)
and order the batch by partition with a stable sort (the household file's order within
a partition); the calling thread appends each partition's slice to its file, batch
after batch, so a partition file keeps the household file's order.

At most :data:`DEPTH` batches are in flight, so memory stays a few batches whatever the
region's size.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from app.batches import Batch, Refused
from app.split_h3 import cells_of
from geodx.limits import Limits
from geodx.partition import parent_cells
from geodx.validate import MARGIN_DEG, MAX_OUTSIDE_SHARE

#: One household in a partition file.
RECORD = np.dtype(
    [("x", "<f8"), ("y", "<f8"), ("w", "<f8"), ("row", "<i8"), ("cell", "<u8")]
)
#: Batches handed to the workers and not yet taken back, at most.
DEPTH = 3

_POOL = ThreadPoolExecutor(2, thread_name_prefix="geodx-split")
_In = TypeVar("_In")
_Out = TypeVar("_Out")


def ordered(
    fn: Callable[[_In], _Out], items: Iterable[_In]
) -> Generator[_Out, None, None]:
    """``fn`` of each item, computed by the workers, yielded in the items' order.

    Items are taken from ``items`` (in this thread) only while fewer than
    :data:`DEPTH` results wait. On any error, and when the caller stops early, the
    items not started are cancelled and the running ones finished before it returns.
    """
    pending: deque[Future[_Out]] = deque()
    try:
        for item in items:
            pending.append(_POOL.submit(fn, item))
            if len(pending) >= DEPTH:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for job in pending:
            job.cancel()
        wait(pending)
        _close(items)


def _close(items: object) -> None:
    close = getattr(items, "close", None)
    if close is not None:
        close()


@dataclass
class Facts:
    """One batch's share of the checks and counts (summed in batch order)."""

    points: int
    weights: float
    total: float
    inside: float
    swapped: float
    integral: bool
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    keys: NDArray[np.uint64]  # cells at the counts' resolution, sorted
    counts: NDArray[np.int64]


class _Box:
    """The reader's value rules and the region check of one batch."""

    def __init__(self, limits: Limits, bounds: tuple[float, ...] | None) -> None:
        self.cap = limits.max_household_weight
        self.box = None
        if bounds is not None:
            west, south, east, north = bounds
            m = MARGIN_DEG
            self.box = (west - m, south - m, east + m, north + m)

    def shares(self, b: Batch) -> tuple[float, float, float, float]:
        """The batch's weight sum and its total, inside and swapped region weights."""
        fine = np.isfinite(b.lng) & np.isfinite(b.lat) & np.isfinite(b.w)
        fine &= (np.abs(b.lng) <= 180) & (np.abs(b.lat) <= 90)
        if not fine.all() or (b.w < 0).any() or (b.w > self.cap).any():
            raise Refused
        weights = float(b.w.sum())
        if self.box is None:
            return weights, 0.0, 0.0, 0.0
        weight = np.maximum(b.w, 1e-12)
        inside = float(weight[_in_box(b.lng, b.lat, self.box)].sum())
        swapped = float(weight[_in_box(b.lat, b.lng, self.box)].sum())
        return weights, float(weight.sum()), inside, swapped


def _in_box(
    x: NDArray[np.float64], y: NDArray[np.float64], box: tuple[float, ...]
) -> NDArray[np.bool_]:
    west, south, east, north = box
    inside: NDArray[np.bool_] = (x >= west) & (x <= east) & (y >= south) & (y <= north)
    return inside


def cell_counts(
    cells: NDArray[np.uint64], resolution: int
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """The parents at ``resolution`` of ``cells`` (sorted, once each) and their counts.

    Runs of one parent (households near each other in the file) are counted first,
    then the runs' parents hashed (``pandas.factorize``: no sort of every cell).

    >>> import h3
    >>> a, b = (h3.latlng_to_cell(12.6, lng, 9) for lng in (108.0, 108.1))
    >>> cells = np.array([int(c, 16) for c in (b, a, a, b, b)], dtype=np.uint64)
    >>> keys, counts = cell_counts(cells, 6)
    >>> got = dict(zip((format(int(k), "x") for k in keys), counts.tolist()))
    >>> got == {h3.cell_to_parent(a, 6): 2, h3.cell_to_parent(b, 6): 3}
    True
    >>> bool(np.all(keys[:-1] < keys[1:]))
    True
    """
    parents = parent_cells(cells, resolution)
    if len(parents) == 0:
        return parents, np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(parents[1:] != parents[:-1]) + 1]
    runs = np.diff(np.r_[starts, len(parents)])
    codes, uniques = pd.factorize(parents[starts])
    counts = np.bincount(codes, weights=runs, minlength=len(uniques))
    keys = np.asarray(uniques, dtype=np.uint64)
    order = np.argsort(keys)
    return keys[order], counts[order].astype(np.int64)


@dataclass
class Counted:
    """Pass 1's sums over every batch."""

    points: int = 0
    weights: float = 0.0
    total: float = 0.0
    inside: float = 0.0
    swapped: float = 0.0
    integral: bool = True
    lo: NDArray[np.float64] = field(default_factory=lambda: np.full(2, np.inf))
    hi: NDArray[np.float64] = field(default_factory=lambda: np.full(2, -np.inf))
    keys: list[NDArray[np.uint64]] = field(default_factory=list)
    counts: list[NDArray[np.int64]] = field(default_factory=list)

    def add(self, f: Facts) -> None:
        """One batch's facts, added after the batches before it."""
        self.points += f.points
        self.weights += f.weights
        self.total += f.total
        self.inside += f.inside
        self.swapped += f.swapped
        self.integral = self.integral and f.integral
        self.lo, self.hi = np.minimum(self.lo, f.lo), np.maximum(self.hi, f.hi)
        self.keys.append(f.keys)
        self.counts.append(f.counts)

    def finish(self, checked: bool) -> dict[int, int]:
        """The points per cell; :class:`Refused` when the sums break a rule.

        ``checked``: whether the region check applies (a region box was given).
        """
        if not np.isfinite(self.weights):
            raise Refused
        outside = 1 - self.inside / self.total if checked and self.total else 0.0
        if outside > MAX_OUTSIDE_SHARE:
            raise Refused
        if not self.keys:
            return {}
        keys, index = np.unique(np.concatenate(self.keys), return_inverse=True)
        n = np.bincount(index, weights=np.concatenate(self.counts))
        return dict(zip(keys.tolist(), n.astype(np.int64).tolist(), strict=True))


def count_pass(
    batches: Iterator[Batch],
    fd: int,
    *,
    h3_resolution: int,
    counts_resolution: int,
    limits: Limits,
    region_bounds: tuple[float, float, float, float] | None,
) -> Counted:
    """Pass 1: check, index and count every batch; write its cells into ``fd``."""
    box = _Box(limits, region_bounds)

    def one(job: tuple[Batch, int]) -> Facts:
        b, row = job
        weights, total, inside, swapped = box.shares(b)
        cells = cells_of(b.lat, b.lng, resolution=h3_resolution)
        _write_at(fd, cells, row)
        keys, counts = cell_counts(cells, counts_resolution)
        n = len(b.w)
        lo = np.array([b.lng.min(), b.lat.min()]) if n else np.full(2, np.inf)
        hi = np.array([b.lng.max(), b.lat.max()]) if n else np.full(2, -np.inf)
        integral = bool(np.all(np.mod(b.w, 1) == 0))
        return Facts(n, weights, total, inside, swapped, integral, lo, hi, keys, counts)

    counted = Counted()
    with closing(ordered(one, _numbered(batches))) as facts:
        for f in facts:
            counted.add(f)
    return counted


def _numbered(batches: Iterator[Batch]) -> Iterator[tuple[Batch, int]]:
    row = 0
    try:
        for b in batches:
            yield b, row
            row += len(b.w)
    finally:
        _close(batches)


def _write_at(fd: int, cells: NDArray[np.uint64], row: int) -> None:
    view = cells.view(np.uint8).data
    offset = row * cells.itemsize
    while len(view):
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done


def read_cells(fd: int, row: int, n: int) -> NDArray[np.uint64]:
    """The ``n`` cells of the scratch file from ``row`` on."""
    cells = np.empty(n, dtype=np.uint64)
    view = cells.view(np.uint8).data
    offset = row * cells.itemsize
    while len(view):
        done = os.preadv(fd, [view], offset)
        if done == 0:
            raise OSError(f"the split's scratch file ended at byte {offset}")
        view, offset = view[done:], offset + done
    return cells


def scatter_pass(
    batches: Iterator[Batch],
    fd: int,
    *,
    heads: NDArray[np.uint64],
    resolution: int,
    paths: list[Path],
) -> NDArray[np.int64]:
    """Pass 2: each household appended to the file of its partition; points per file.

    ``batches``: the households again, in the same batches; ``fd``: pass 1's cells.
    ``heads``: each partition's first parent cell at ``resolution``, in order (a
    partition holds the parents up to the next one's).
    """
    small = np.int16 if len(heads) < 1 << 15 else np.int64

    def one(job: tuple[Batch, int]) -> tuple[NDArray[np.void], list[int], list[int]]:
        b, row = job
        n = len(b.w)
        cells = read_cells(fd, row, n)
        part = np.searchsorted(heads, parent_cells(cells, resolution), "right") - 1
        part = part.astype(small)
        wide = np.empty((n, len(RECORD.names or ())), dtype=np.uint64)
        for i, column in enumerate((b.x, b.y, b.w)):
            wide[:, i] = np.asarray(column, dtype=np.float64).view(np.uint64)
        wide[:, 3] = np.arange(row, row + n, dtype=np.uint64)
        wide[:, 4] = cells
        if n and np.any(part[1:] < part[:-1]):
            order = np.argsort(part, kind="stable")  # a radix sort of small ints
            wide, part = np.take(wide, order, axis=0), part[order]
        starts = np.r_[0, np.flatnonzero(part[1:] != part[:-1]) + 1] if n else []
        keys = part[starts].tolist()
        return wide.view(RECORD).reshape(-1), keys, [*np.asarray(starts).tolist(), n]

    sizes = np.zeros(len(heads), dtype=np.int64)
    with closing(ordered(one, _numbered(batches))) as sorted_batches:
        for records, keys, bounds in sorted_batches:
            for key, a, z in zip(keys, bounds[:-1], bounds[1:], strict=True):
                with paths[key].open("ab") as fh:
                    fh.write(records[a:z].view(np.uint8).data)
                sizes[key] += z - a
    return sizes


__all__ = [
    "DEPTH",
    "RECORD",
    "Counted",
    "cell_counts",
    "count_pass",
    "ordered",
    "read_cells",
    "scatter_pass",
]
