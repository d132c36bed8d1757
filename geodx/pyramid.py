"""H3 pyramids: the cell table rolled up to coarser resolutions, written by a run.

``DIR/pyramid/cells_r{res}.parquet`` (:data:`geodx.contract.PYRAMID_DIR`,
:func:`geodx.contract.pyramid_file`) holds, for each resolution from
:data:`geodx.contract.PYRAMID_MIN_RESOLUTION` up to the region's own, one row per cell:
the columns of :func:`geodx.contract.cell_totals` (``h3``, ``resolution``, ``communes``,
the count columns summed over every household of the cell, the percentages computed
from those sums). It is the contract's roll-up rule (:func:`geodx.contract.roll_up`)
precomputed, so maps and vector tiles read a level instead of re-grouping the country.

Parents are found once per level from the unique cells of the finer level, and rows
are grouped on integer codes of the cells (the same pandas sums as ``cell_totals``).
"""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pyarrow as pa

from geodx.contract import (
    CELLS_FILE,
    COUNT_SUFFIX,
    H3_COL,
    PYRAMID_DIR,
    PYRAMID_MIN_RESOLUTION,
    count_columns,
    pct_array,
    pyramid_file,
)
from geodx.io import write_table

__all__ = ["pyramid_levels", "read_level", "write_pyramid", "write_pyramid_of"]


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

    The contract's :func:`geodx.contract.cell_totals`, grouped on integer codes: the
    same pandas sums in the same row order, the distinct communes per cell, then the
    percentages from the sums (NaN where a cell has no households).
    """
    integral = all(pd.api.types.is_integer_dtype(counts[c]) for c in counts.columns)
    sums = counts.groupby(keys, sort=True).sum().astype("int64" if integral else float)
    used = sums.index.to_numpy()
    assigned = communes >= 0
    span = np.int64(communes.max(initial=0)) + 1
    pairs = np.unique(keys[assigned].astype(np.int64) * span + communes[assigned])
    per_cell = np.bincount(pairs // span, minlength=len(names))[used]
    out = sums.reset_index(drop=True)
    out.insert(0, "communes", per_cell.astype("int64"))
    out.insert(
        0, "resolution", np.full(len(out), h3.get_resolution(str(names[used[0]])))
    )
    out.insert(0, H3_COL, names[used])
    whole = out["households"].to_numpy(dtype=float)
    for col in [c for c in counts.columns if c.endswith(COUNT_SUFFIX)]:
        share = pct_array(out[col].to_numpy(dtype=float), whole)
        out[col[: -len(COUNT_SUFFIX)] + "_pct"] = np.where(whole > 0, share, np.nan)
    return out


def roll_up_levels(cells: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """The cell totals of every pyramid level of ``cells`` (a ``cells.parquet`` table)."""
    if len(cells) == 0:
        return {}
    found, uniques = pd.factorize(cells[H3_COL], sort=True)
    keys: np.ndarray = np.asarray(found)
    names: np.ndarray = np.asarray(uniques, dtype=object)
    base = h3.get_resolution(str(names[0]))
    codes = (
        cells["commune_code"]
        if "commune_code" in cells
        else pd.Series([None] * len(cells))
    )
    communes = pd.factorize(codes, use_na_sentinel=True)[0]
    counts = cells[count_columns(cells)]
    levels = {base: _level(counts, keys, names, communes)}
    for res in pyramid_levels(base)[1:]:
        parents = [h3.cell_to_parent(c, res) for c in names]  # one per finer cell
        step, above = pd.factorize(np.asarray(parents, dtype=object), sort=True)
        names = np.asarray(above, dtype=object)
        keys = np.asarray(step)[keys]
        levels[res] = _level(counts, keys, names, communes)
    return levels


def _arrow(totals: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(totals, preserve_index=False)


def write_pyramid(folder: Path, cells: pd.DataFrame) -> list[int]:
    """Write ``folder/pyramid/cells_r{res}.parquet`` for every level; the levels."""
    target = folder / PYRAMID_DIR
    target.mkdir(exist_ok=True)
    levels = roll_up_levels(cells)
    for res, totals in levels.items():
        write_table(folder / pyramid_file(res), _arrow(totals))
    return sorted(levels)


def read_level(folder: Path, res: int) -> pd.DataFrame | None:
    """One written level (percentages: NaN where no households), or None if absent."""
    path = folder / pyramid_file(res)
    if not path.is_file():
        return None
    return pd.read_parquet(path)


def write_pyramid_of(folder: Path) -> list[int]:
    """The pyramid of the ``cells.parquet`` a run just wrote into ``folder``."""
    return write_pyramid(folder, pd.read_parquet(folder / CELLS_FILE))
