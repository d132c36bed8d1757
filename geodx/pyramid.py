"""H3 pyramids: the cell table rolled up to coarser resolutions, written by a run.

``DIR/pyramid/cells_r{res}.parquet`` (:data:`geodx.contract.PYRAMID_DIR`,
:func:`geodx.contract.pyramid_file`) holds, for each resolution from
:data:`geodx.contract.PYRAMID_MIN_RESOLUTION` up to the region's own, one row per cell:
the columns of :func:`geodx.contract.cell_totals` (``h3``, ``resolution``, ``communes``,
the count columns summed over every household of the cell, the percentages computed
from those sums). It is the contract's roll-up rule (:func:`geodx.contract.roll_up`)
precomputed, so maps and vector tiles read a level instead of re-grouping the country.

Parents are found once per level from the unique cells of the finer level (a few
hundred thousand ``cell_to_parent`` calls for a million cells, not one per row and level).
"""

from __future__ import annotations

from pathlib import Path

import h3
import pandas as pd
import pyarrow as pa

from geodx.contract import (
    CELLS_FILE,
    H3_COL,
    PYRAMID_DIR,
    PYRAMID_MIN_RESOLUTION,
    cell_totals,
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


def _parents(cells: pd.Series, base: int) -> dict[int, pd.Series]:
    """Each row's ancestor at every pyramid level (category codes, not strings)."""
    codes = cells.astype("category")
    current = pd.Series(codes.cat.categories, index=codes.cat.categories)
    out: dict[int, pd.Series] = {}
    for res in pyramid_levels(base)[1:]:
        unique = pd.unique(current.to_numpy())
        step = {c: h3.cell_to_parent(c, res) for c in unique}
        current = current.map(step)
        out[res] = current
    return {res: codes.map(level) for res, level in out.items()}


def roll_up_levels(cells: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """The cell totals of every pyramid level of ``cells`` (a ``cells.parquet`` table)."""
    if len(cells) == 0:
        return {}
    base = h3.get_resolution(str(cells[H3_COL].iloc[0]))
    frame = cells.drop(columns=[c for c in cells.columns if c.endswith("_pct")])
    levels = {base: cell_totals(frame)}
    for res, parent in _parents(frame[H3_COL], base).items():
        rolled = frame.assign(**{H3_COL: parent.astype(str).to_numpy()})
        levels[res] = cell_totals(rolled)
    return levels


def _arrow(totals: pd.DataFrame) -> pa.Table:
    pct = [c for c in totals.columns if c.endswith("_pct")]
    typed = totals.astype(dict.fromkeys(pct, "float64"))  # None -> NaN: no households
    return pa.Table.from_pandas(typed, preserve_index=False)


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
