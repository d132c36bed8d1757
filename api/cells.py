"""The ``cells`` collection: one hexagon per H3 cell, totals of every household in it.

``cells.parquet`` has one row per cell and commune; the service sums those rows per
cell (all its communes and unassigned households too), so hexagons add up to the region.
"""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import shapely

from geodx.errors import InvalidResolution

H3_COL = "h3"
COUNT_SUFFIX = "_households"
INDICATORS = ("fibre", "mobile", "mobile_5g")


def count_columns(cells: pd.DataFrame) -> list[str]:
    """The household-count columns of the cell table, in table order."""
    return [c for c in cells.columns if c.endswith(COUNT_SUFFIX) or c == "households"]


def pct(covered: pd.Series, households: pd.Series) -> pd.Series:
    """``100 * covered / households`` rounded to 4 decimals; None where no households."""
    h = households.to_numpy(dtype=float)
    c = covered.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(h > 0, np.round(100.0 * c / h, 4), np.nan)
    return pd.Series(share, index=covered.index).astype(object).where(h > 0, None)


def cell_totals(cells: pd.DataFrame) -> pd.DataFrame:
    """Sum the per-commune rows of each cell and add ``*_pct`` columns.

    Parameters
    ----------
    cells : DataFrame
        ``cells.parquet``: ``h3``, ``commune_code`` and ``*_households`` columns.

    Returns
    -------
    DataFrame
        One row per cell: ``h3``, ``resolution``, ``communes`` (how many communes hold
        households there), every count column, then ``<indicator>_pct`` and
        ``layer_<slug>_pct``; sorted by ``h3``.
    """
    counts = count_columns(cells)
    grouped = cells.groupby(H3_COL, sort=True)
    out = (
        grouped[counts].sum().astype("int64" if _all_integral(cells, counts) else float)
    )
    out.insert(
        0,
        "communes",
        grouped["commune_code"].nunique() if "commune_code" in cells else 0,
    )
    out = out.reset_index()
    out.insert(1, "resolution", [h3.get_resolution(c) for c in out[H3_COL]])
    return add_percentages(out)


def _all_integral(frame: pd.DataFrame, columns: list[str]) -> bool:
    return all(pd.api.types.is_integer_dtype(frame[c]) for c in columns)


def add_percentages(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``X_pct`` for every ``X_households`` column except ``households`` itself."""
    frame = frame.copy()
    for col in [c for c in frame.columns if c.endswith(COUNT_SUFFIX)]:
        frame[col[: -len(COUNT_SUFFIX)] + "_pct"] = pct(frame[col], frame["households"])
    return frame


def roll_up(cells: pd.DataFrame, resolution: int, base: int) -> pd.DataFrame:
    """Cell totals at ``resolution``, coarser than or equal to the table's ``base``.

    Parent cells come from ``h3.cell_to_parent``; the rows of ``cells.parquet`` are
    re-grouped under their parent, so counts and the number of communes stay exact.

    Raises
    ------
    InvalidResolution
        ``resolution`` outside 0 to ``base``.
    """
    if not 0 <= resolution <= base:
        raise InvalidResolution(
            f"resolution was {resolution}; expected 0-{base} (the cells are at {base})"
        )
    if resolution == base or len(cells) == 0:
        return cell_totals(cells)
    parent = {c: h3.cell_to_parent(c, resolution) for c in cells[H3_COL].unique()}
    return cell_totals(cells.assign(**{H3_COL: cells[H3_COL].map(parent)}))


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
