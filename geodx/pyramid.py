"""H3 pyramids: the cell table rolled up to coarser resolutions, written by a run.

``DIR/pyramid/cells_r{res}.parquet`` (:data:`geodx.contract_names.PYRAMID_DIR`,
:func:`geodx.contract_cells.pyramid_file`) holds, for each resolution from
:data:`geodx.contract_names.PYRAMID_MIN_RESOLUTION` up to the region's own, one row per cell:
the columns of :func:`geodx.contract_cells.cell_totals` (``h3``, ``resolution``, ``communes``,
the count columns summed over every household of the cell, the percentages computed
from those sums). It is the contract's roll-up rule (:func:`geodx.contract_cells.roll_up`)
precomputed, so maps and vector tiles read a level instead of re-grouping the country.

Parents are found once per level from the unique cells of the finer level, and rows
are grouped on integer codes of the cells (the same pandas sums as ``cell_totals``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from geodx.contract_cells import (
    count_columns,
    pyramid_file,
)
from geodx.contract_figures import pct_array
from geodx.contract_names import (
    CELLS_FILE,
    COUNT_SUFFIX,
    H3_COL,
    PYRAMID_DIR,
    PYRAMID_MIN_RESOLUTION,
)
from geodx.io import write_table
from geodx.partition import parent_cells, sort_unique

__all__ = [
    "iter_levels",
    "pyramid_levels",
    "read_level",
    "write_pyramid",
    "write_pyramid_of",
    "write_pyramid_of_ints",
]


def pyramid_levels(base: int) -> list[int]:
    """The resolutions a pyramid holds for cells at ``base``, finest first.

    >>> pyramid_levels(9), pyramid_levels(4)
    ([9, 8, 7, 6, 5], [4])
    """
    return list(range(base, min(PYRAMID_MIN_RESOLUTION, base) - 1, -1))


def _level(
    counts: pd.DataFrame, keys: np.ndarray, names: np.ndarray, communes: np.ndarray
) -> pd.DataFrame:
    """Cell totals of rows grouped by ``keys`` (codes of the sorted cell ``names``).

    The contract's :func:`geodx.contract_cells.cell_totals`, grouped on integer codes: the
    same pandas sums in the same row order, the distinct communes per cell, then the
    percentages from the sums (NaN where a cell has no households).
    """
    integral = all(pd.api.types.is_integer_dtype(counts[c]) for c in counts.columns)
    sums = counts.groupby(keys, sort=True).sum().astype("int64" if integral else float)
    used = sums.index.to_numpy()
    per_cell = np.bincount(_pairs(keys, communes)[0], minlength=len(names))[used]
    frame = {str(c): sums[c].to_numpy() for c in sums.columns}
    return _totals(frame, per_cell, names[used])


def _pairs(
    keys: np.ndarray, communes: np.ndarray
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The distinct (cell key, commune) pairs of the assigned rows, sorted."""
    assigned = communes >= 0
    span = np.int64(communes.max(initial=0)) + 1
    pairs, _ = sort_unique(keys[assigned].astype(np.int64) * span + communes[assigned])
    return pairs // span, pairs % span


def _totals(
    sums: dict[str, np.ndarray], per_cell: np.ndarray, names: np.ndarray
) -> pd.DataFrame:
    """The level's table: ``h3``, ``resolution``, ``communes``, the sums, percentages."""
    columns: dict[str, Any] = {
        H3_COL: names,
        "resolution": np.full(len(names), h3.get_resolution(str(names[0]))),
        "communes": per_cell.astype("int64"),
    }
    columns.update({c: np.asarray(sums[c]) for c in sums})
    whole = np.asarray(sums["households"], dtype=float)
    for col in [c for c in sums if c.endswith(COUNT_SUFFIX)]:
        share = pct_array(np.asarray(sums[col], dtype=float), whole)
        columns[col[: -len(COUNT_SUFFIX)] + "_pct"] = np.where(whole > 0, share, np.nan)
    return pd.DataFrame(columns, copy=False)  # no second copy of a country's level


def roll_up_levels(cells: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """The cell totals of every pyramid level of ``cells`` (a ``cells.parquet`` table)."""
    return dict(iter_levels(cells))


def iter_levels(cells: pd.DataFrame) -> Iterator[tuple[int, pd.DataFrame]]:
    """:func:`roll_up_levels` a level at a time, finest first.

    Each level can be written and dropped before the next is made (a country's
    finest level is about 0.5 GB).
    """
    if len(cells) == 0:
        return iter(())
    codes = (
        cells["commune_code"]
        if "commune_code" in cells
        else pd.Series([None] * len(cells))
    )
    communes = np.asarray(pd.factorize(codes, use_na_sentinel=True)[0])
    columns = count_columns(cells)
    strings = np.asarray(cells[H3_COL].to_numpy(dtype=object), dtype=object)
    index = h3_ints(strings)
    numpy_ints = all(cells[c].dtype.kind == "i" for c in columns)
    if index is None or not numpy_ints:  # nullable or float counts: as pandas sums
        return _roll_up_by_name(cells[columns], strings, communes)
    return _roll_up_by_bits(cells, columns, strings, index, communes)


def _roll_up_by_name(
    counts: pd.DataFrame, strings: np.ndarray, communes: np.ndarray
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Parents asked of ``h3`` cell by cell, every level grouped from the rows."""
    found, uniques = pd.factorize(strings, sort=True)
    keys: np.ndarray = np.asarray(found)
    names: np.ndarray = np.asarray(uniques, dtype=object)
    base = h3.get_resolution(str(names[0]))
    yield base, _level(counts, keys, names, communes)
    for res in pyramid_levels(base)[1:]:
        parents = [h3.cell_to_parent(c, res) for c in names]  # one per finer cell
        step, above = pd.factorize(np.asarray(parents, dtype=object), sort=True)
        names = np.asarray(above, dtype=object)
        keys = np.asarray(step)[keys]
        yield res, _level(counts, keys, names, communes)


def _roll_up_by_bits(
    table: pd.DataFrame | dict[str, np.ndarray],
    columns: list[str],
    strings: np.ndarray | None,
    index: NDArray[np.uint64],
    communes: np.ndarray,
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Integer counts rolled up level from level, parents by the H3 bit layout.

    The numbers and rows of :func:`_roll_up_by_name` (integer sums are exact in any
    order): cells of one resolution sort by their strings as by their integers, and
    parents keep their children's order, so each level is the finer one's runs.
    ``strings``: the cells' names, else made from ``index`` (the same canonical text).
    """
    # A run's cell table is in cell order already: then no sort and no copies.
    order = None if _ascending(index) else np.argsort(index, kind="stable")
    ordered = index if order is None else index[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    cells: NDArray[np.uint64] = ordered[first]
    keys = np.empty(len(index), dtype=np.int64)
    keys[slice(None) if order is None else order] = np.cumsum(first) - 1
    if strings is not None:
        names = (strings if order is None else strings[order])[first]
    else:
        names = h3_strings(cells)
    starts = np.flatnonzero(first)
    # A column at a time: each sum runs along one contiguous array.
    sums = [np.add.reduceat(_ordered(table[c], order), starts) for c in columns]
    pair_cell, pair_commune = _pairs(keys, communes)
    base = h3_resolution(int(cells[0]))
    for res in pyramid_levels(base):
        if res != base:
            parents = parent_cells(cells, res)
            new = np.r_[True, parents[1:] != parents[:-1]]
            step = np.cumsum(new) - 1
            cells, names = parents[new], h3_strings(parents[new])
            starts = np.flatnonzero(new)
            sums = [np.add.reduceat(column, starts) for column in sums]
            pair_cell, pair_commune = _pairs(step[pair_cell], pair_commune)
        per_cell = np.bincount(pair_cell, minlength=len(cells))
        frame = dict(zip(columns, sums, strict=True))
        yield res, _totals(frame, per_cell, names)


def _ascending(index: NDArray[np.uint64]) -> bool:
    return bool((index[1:] >= index[:-1]).all())


def _ordered(values: Any, order: NDArray[np.intp] | None) -> NDArray[np.int64]:
    """A count column as int64, in ``order`` (None: as it is)."""
    column = np.asarray(values, dtype=np.int64)
    return column if order is None else column[order]


#: H3 index bits (the H3 spec, "H3 index representation"): mode, resolution, digits.
_MODE_SHIFT, _RES_SHIFT = 59, 52
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def h3_resolution(cell: int) -> int:
    """The resolution field of an H3 cell index.

    >>> h3_resolution(0x8928308280FFFFF)
    9
    """
    return (cell >> _RES_SHIFT) & 0xF


def h3_ints(strings: np.ndarray) -> NDArray[np.uint64] | None:
    """Canonical H3 cell strings (15 lower-case hex digits, one resolution) as ints.

    None when any string is not one: the caller asks ``h3`` instead.

    >>> h3_ints(np.array(["8928308280fffff"], dtype=object)).tolist()
    [617700169958293503]
    >>> h3_ints(np.array(["8928308280FFFFF"], dtype=object)) is None
    True
    """
    try:
        fixed = strings.astype("U15")
    except (TypeError, ValueError):
        return None
    raw = fixed.view(np.uint32).reshape(len(strings), 15)
    if not np.array_equal(strings, fixed.astype(object)):
        return None  # longer strings were cut, or not strings at all
    digit = np.searchsorted(_HEX, raw).astype(np.uint64)
    if (digit >= 16).any() or (_HEX[np.minimum(digit, 15)] != raw).any():
        return None
    shifts = np.arange(56, -1, -4, dtype=np.uint64)
    cells: NDArray[np.uint64] = np.bitwise_or.reduce(digit << shifts, axis=1)
    return cells if one_resolution(cells) else None


def one_resolution(cells: NDArray[np.uint64]) -> bool:
    """Whether every index is an H3 cell (mode 1) of one resolution (true when empty).

    >>> one_resolution(np.array([0x8928308280FFFFF, 0], np.uint64))
    False
    """
    if len(cells) == 0:
        return True
    mode = (cells >> np.uint64(_MODE_SHIFT)) & np.uint64(0xF)
    res = (cells >> np.uint64(_RES_SHIFT)) & np.uint64(0xF)
    return not ((mode != 1).any() or (res != res[0]).any())


def h3_strings(cells: NDArray[np.uint64]) -> np.ndarray:
    """H3 cell indexes as their canonical strings (an object array of ``str``).

    >>> h3_strings(np.array([0x8928308280FFFFF], np.uint64)).tolist()
    ['8928308280fffff']
    """
    # A cell's top four bits are zero (reserved bit, mode 1 from bit 59): 15 of the
    # 16 hexadecimal digits of its big-endian bytes.
    text = np.asarray(cells, dtype=">u8").tobytes().hex()
    names = np.empty(len(cells), dtype=object)
    names[:] = [text[i + 1 : i + 16] for i in range(0, len(text), 16)]
    return names


def _arrow(totals: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(totals, preserve_index=False)


def write_pyramid(folder: Path, cells: pd.DataFrame) -> list[int]:
    """Write ``folder/pyramid/cells_r{res}.parquet`` for every level; the levels."""
    return _write_levels(folder, iter_levels(cells))


def write_pyramid_of_ints(
    folder: Path,
    table: pa.Table,
    cells: NDArray[np.uint64],
    communes: NDArray[np.int64],
) -> list[int]:
    """:func:`write_pyramid` of a cell table whose ``h3`` column is ``cells``'s names.

    ``table``: a ``cells.parquet`` table in memory, row ``i`` the cell ``cells[i]``
    (``geodx.grid.cells_to_str`` gives its ``h3``); ``communes``: the rows' commune
    labels, equal exactly where the rows' ``commune_code`` is (-1: none). Integer
    counts roll up from the integers themselves, never parsing the names back; other
    tables go through pandas as :func:`write_pyramid` does. The same files.
    """
    names = table.column_names  # count_columns' choice, in table order
    columns = [c for c in names if c.endswith(COUNT_SUFFIX) or c == "households"]
    counts = {c: table.column(c).to_numpy() for c in columns}
    if not one_resolution(cells) or not all(
        counts[c].dtype.kind == "i" for c in columns
    ):
        return write_pyramid(folder, table.to_pandas())
    if len(cells) == 0:
        return _write_levels(folder, ())
    return _write_levels(
        folder, _roll_up_by_bits(counts, columns, None, cells, communes)
    )


def _write_levels(
    folder: Path, levels: Iterable[tuple[int, pd.DataFrame]]
) -> list[int]:
    """Write each level in a thread while the next one is made (one level waiting)."""
    target = folder / PYRAMID_DIR
    target.mkdir(exist_ok=True)
    written = []
    pending: Future[None] | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="geodx-pyramid") as pool:
        for res, totals in levels:
            if pending is not None:
                pending.result()  # at most one level in memory besides the next
            pending = pool.submit(_write_level, folder / pyramid_file(res), totals)
            written.append(res)
            del totals
        if pending is not None:
            pending.result()
    return sorted(written)


def _write_level(path: Path, totals: pd.DataFrame) -> None:
    write_table(path, _arrow(totals))


def read_level(folder: Path, res: int) -> pd.DataFrame | None:
    """One written level (percentages: NaN where no households), or None if absent."""
    path = folder / pyramid_file(res)
    if not path.is_file():
        return None
    return pd.read_parquet(path)


def write_pyramid_of(folder: Path) -> list[int]:
    """The pyramid of the ``cells.parquet`` a run just wrote into ``folder``."""
    return write_pyramid(folder, pd.read_parquet(folder / CELLS_FILE))
