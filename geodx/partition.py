"""Partitions of a run: households split by an H3 parent cell, and their sums merged.

A partitioned run (``app.engine``) answers every per-household question on one
partition at a time and keeps only sums: one row per (H3 cell, commune) holding
households (:class:`RowSums`). Cells nest in their parent cell, so the rows of two
partitions never share a cell, and concatenating the partitions' rows in the order of
their parent cells gives the rows in the cell table's order (an H3 index sorts by base
cell, then by its digits, coarse to fine). Every other figure is summed from those rows
(:func:`commune_sums`), in that same order, by a single pass and by a partitioned one
alike: the same numbers to the last bit, for fractional weights too.

The partition resolution (docs/scale.md): the coarsest resolution, from 0 to
:data:`FINEST` (never finer than the cell table's), whose largest parent cell holds at
most ``max_points`` household points (:data:`MAX_POINTS`); :data:`FINEST` when even its
largest cell holds more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geodx.contract_views import ViewColumn
from geodx.coverage import IndicatorSums, Overlay, sum_with_extra
from geodx.kernels_sort import stable_argsort

#: At most this many household points per partition (about 1 GB of work at most).
MAX_POINTS = 1_000_000
#: The finest partition resolution (H3 res 6: about 36 km² a cell).
FINEST = 6

_RES_SHIFT = 52
_RES_MASK = np.uint64(0xF << _RES_SHIFT)


def parent_cells(cells: NDArray[np.uint64], resolution: int) -> NDArray[np.uint64]:
    """The parent at ``resolution`` of each H3 cell (finer or equal), as uint64.

    Examples
    --------
    >>> import h3
    >>> cell = h3.latlng_to_cell(12.6667, 108.05, 9)
    >>> got = parent_cells(np.array([int(cell, 16)], dtype=np.uint64), 5)
    >>> format(int(got[0]), "x") == h3.cell_to_parent(cell, 5)
    True
    """
    low = np.uint64((1 << (3 * (15 - resolution))) - 1)  # digits below: all 7
    res = np.uint64(resolution << _RES_SHIFT)
    out: NDArray[np.uint64] = (np.asarray(cells, dtype=np.uint64) & ~_RES_MASK) | res
    return out | low


def choose_resolution(
    parents: NDArray[np.uint64],
    counts: NDArray[np.int64],
    *,
    finest: int,
    max_points: int = MAX_POINTS,
) -> int:
    """The partition resolution: the coarsest whose largest cell holds ``<= max_points``.

    ``parents`` are cells at ``finest`` and ``counts`` the household points in each.

    Two cells 10 km apart share their parents down to resolution 4:

    >>> import h3
    >>> a, b = (int(h3.latlng_to_cell(12.6, lng, 6), 16) for lng in (108.0, 108.1))
    >>> cells = np.array([a, b], dtype=np.uint64)
    >>> choose_resolution(cells, np.array([5, 5]), finest=6, max_points=10)
    0
    >>> choose_resolution(cells, np.array([5, 5]), finest=6, max_points=6)
    5
    >>> choose_resolution(cells, np.array([5, 5]), finest=6, max_points=4)
    6
    """
    for resolution in range(finest + 1):
        keys, index = np.unique(parent_cells(parents, resolution), return_inverse=True)
        largest = np.bincount(index, weights=counts, minlength=len(keys)).max(initial=0)
        if largest <= max_points:
            return resolution
    return finest


@dataclass
class RowSums:
    """Sums per (H3 cell, commune) row, in the cell table's order.

    Attributes
    ----------
    cells : ndarray of uint64
        Each row's H3 cell.
    commune : ndarray of int64
        Each row's commune index (``-1``: outside every commune).
    sums : IndicatorSums
        Household weights summed per row: total, indicators, layers and every view.
    overlap : ndarray of float64
        Weight of the row's households in more than one commune.
    points : int
        Household points summed.
    """

    cells: NDArray[np.uint64]
    commune: NDArray[np.int64]
    sums: IndicatorSums
    overlap: NDArray[np.float64]
    points: int

    def __len__(self) -> int:
        return len(self.cells)


def row_sums(result: Overlay, n_communes: int) -> RowSums:
    """Sum an overlay's households per (H3 cell, commune), rows sorted by cell, commune.

    Each row holds what ``np.bincount`` sums of its households in their order in
    ``result`` (whole-number weights: the same values, several masks a pass).
    """
    cells, commune, group = _rows(result.cells, result.assignment.commune, n_communes)
    weight = result.households.weight
    sums, (overlap,) = sum_with_extra(
        group,
        len(cells),
        weight,
        result.indicators,
        result.layers,
        result.views,
        extra=[result.assignment.overlap],
    )
    return RowSums(
        cells=cells,
        commune=commune,
        sums=sums,
        overlap=overlap.astype(np.float64),
        points=len(result.households),
    )


def _rows(
    cells: NDArray[np.uint64], commune: NDArray[np.int64], n_communes: int
) -> tuple[NDArray[np.uint64], NDArray[np.int64], NDArray[np.int64]]:
    """The (cell, commune) rows, sorted by cell then commune, and each household's row.

    A cell's digits below its resolution are all 7 (every bit set), so the commune
    (plus one) fits in those bits and one sort of one key orders the rows, when every
    cell has the same resolution and the communes fit; else two sorts give the same.

    >>> import h3
    >>> a, b = sorted(int(h3.latlng_to_cell(12.6, x, 9), 16) for x in (108.0, 108.1))
    >>> cells = np.array([b, a, b, a], dtype=np.uint64)
    >>> rows, communes, row_of = _rows(cells, np.array([1, 0, 1, -1]), 2)
    >>> rows.tolist() == [a, a, b], communes.tolist(), row_of.tolist()
    (True, [-1, 0, 1], [2, 1, 2, 0])
    """
    cells = np.asarray(cells, dtype=np.uint64)
    resolution = int(cells[0] >> np.uint64(_RES_SHIFT)) & 0xF if len(cells) else 15
    low = np.uint64((1 << (3 * (15 - resolution))) - 1)
    if (
        n_communes <= int(low)
        and bool(np.all((cells & _RES_MASK) == (cells[0] & _RES_MASK)))
        and bool(np.all((cells & low) == low))
    ):
        key = (cells & ~low) | (commune + 1).astype(np.uint64)
        keys, group = sort_unique(key)
        rows = (keys & low).astype(np.int64) - 1
        return np.asarray(keys | low, dtype=np.uint64), rows, group.astype(np.int64)
    uniq, cell_idx = np.unique(cells, return_inverse=True)
    stride = n_communes + 1
    keys, group = sort_unique(cell_idx.astype(np.int64) * stride + (commune + 1))
    rows = (keys % stride - 1).astype(np.int64)
    return (
        np.asarray(uniq[keys // stride], dtype=np.uint64),
        rows,
        group.astype(np.int64),
    )


def sort_unique(key: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.int64]]:
    """``np.unique(key, return_inverse=True)``, by a stable sort.

    The stable order comes from :func:`geodx.kernels_sort.stable_argsort` (one sort
    of the keys packed with their index: a partition's rows in a fifth of a timsort's
    time); numpy 2.4's hashing unique took 4 s, not 0.15 s, on a country's 1.2M
    (cell, commune) pairs (``geodx.pyramid``).

    >>> keys, inverse = sort_unique(np.array([5, 3, 5, 1]))
    >>> keys.tolist(), inverse.tolist()
    ([1, 3, 5], [2, 1, 2, 0])
    """
    order = stable_argsort(key)
    ordered = key[order]
    first = np.empty(len(key), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(len(key), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def merge_rows(parts: Sequence[RowSums], *, template: RowSums | None = None) -> RowSums:
    """The rows of partitions given in the order of their parent cells, concatenated.

    ``template`` gives the columns when ``parts`` is empty.
    """
    if not parts:
        if template is None:
            raise ValueError("merge_rows needs parts or a template")
        return _empty_like(template)
    first = parts[0].sums

    def cat(key: str, group: str) -> NDArray[np.float64]:
        return np.concatenate([getattr(p.sums, group)[key] for p in parts])

    sums = IndicatorSums(
        households=np.concatenate([p.sums.households for p in parts]),
        indicators={k: cat(k, "indicators") for k in first.indicators},
        layers={k: cat(k, "layers") for k in first.layers},
        views={k: cat(k, "views") for k in first.views},
    )
    return RowSums(
        cells=np.concatenate([p.cells for p in parts]).astype(np.uint64),
        commune=np.concatenate([p.commune for p in parts]).astype(np.int64),
        sums=sums,
        overlap=np.concatenate([p.overlap for p in parts]),
        points=sum(p.points for p in parts),
    )


def _empty_like(template: RowSums) -> RowSums:
    none = np.zeros(0, dtype=np.float64)
    s = template.sums
    return RowSums(
        cells=np.zeros(0, dtype=np.uint64),
        commune=np.zeros(0, dtype=np.int64),
        sums=IndicatorSums(
            households=none,
            indicators=dict.fromkeys(s.indicators, none),
            layers=dict.fromkeys(s.layers, none),
            views=dict.fromkeys(s.views, none),
        ),
        overlap=none,
        points=0,
    )


def commune_sums(rows: RowSums, n_communes: int) -> IndicatorSums:
    """Sums per commune (index ``i + 1``; 0: outside every commune), rows in order."""
    group = rows.commune + 1

    def total(values: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.bincount(group, weights=values, minlength=n_communes + 1)
        return out.astype(np.float64)

    s = rows.sums
    return IndicatorSums(
        households=total(s.households),
        indicators={k: total(v) for k, v in s.indicators.items()},
        layers={k: total(v) for k, v in s.layers.items()},
        views={k: total(v) for k, v in s.views.items()},
    )


def overlap_total(rows: RowSums) -> float:
    """The weight of households in more than one commune (correctly rounded sum)."""
    return math.fsum(rows.overlap.tolist())


@dataclass
class RunSums:
    """What the outputs are written from: the rows and the run's facts."""

    rows: RowSums
    sources: dict[str, str]  # layer slug -> source ("polygons", "lines", ...)
    columns: list[ViewColumn]
    integral: bool  # every household weight is a whole number


def run_sums(result: Overlay, n_communes: int) -> RunSums:
    """A single pass's overlay summed into rows."""
    return RunSums(
        rows=row_sums(result, n_communes),
        sources=dict(result.sources),
        columns=list(result.columns),
        integral=result.households.integral,
    )
