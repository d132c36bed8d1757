"""The ``cells`` collection: one hexagon per H3 cell, totals of every household in it.

``cells.parquet`` has one row per cell and commune; the service sums those rows per
cell (all its communes and unassigned households too), so hexagons add up to the region.
"""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import shapely

from geodx.contract_cells import (
    add_percentages,
    cell_totals,
    count_columns,
    roll_up,
)

# The sums, percentages and roll-up are the results contract's; this module only adds
# the geometry of cells and the checks the service needs.
from geodx.contract_names import H3_COL

__all__ = [
    "add_percentages",
    "cell_polygons",
    "cell_totals",
    "cells_are_valid",
    "count_columns",
    "resolution_for_at_most",
    "roll_up",
]


def cell_polygons(cells: pd.Series) -> np.ndarray:
    """Hexagon (or pentagon) polygons, lon/lat, of H3 cells."""
    if len(cells) == 0:
        return np.asarray([], dtype=object)
    rings = [h3.cell_to_boundary(c) for c in cells]
    sizes = np.fromiter((len(r) for r in rings), dtype=np.intp, count=len(rings))
    latlng = np.asarray([pt for ring in rings for pt in ring], dtype=float)
    index = np.repeat(np.arange(len(rings)), sizes)
    shells = shapely.linearrings(latlng[:, ::-1], indices=index)
    return np.asarray(shapely.polygons(shells), dtype=object)


def resolution_for_at_most(totals: pd.DataFrame, max_cells: int) -> int:
    """The finest resolution at which the cells number at most ``max_cells``."""
    if len(totals) == 0:
        return 0
    base = int(totals["resolution"].max())
    unique = set(totals[H3_COL])
    for res in range(base, -1, -1):
        unique = {h3.cell_to_parent(c, res) for c in unique}
        if len(unique) <= max_cells:
            return res
    return 0


def cells_are_valid(cells: pd.Series) -> bool:
    """True when every value is a valid H3 cell string."""
    return bool(all(isinstance(c, str) and h3.is_valid_cell(c) for c in cells))
