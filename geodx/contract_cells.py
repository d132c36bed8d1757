"""The cell table (``cells.parquet``) and its H3 roll-up, the pyramid's levels."""

from __future__ import annotations

import h3
import pandas as pd

from geodx.contract_figures import pct_array
from geodx.contract_names import COUNT_SUFFIX, H3_COL, PYRAMID_DIR
from geodx.errors import InvalidResolution


def count_columns(cells: pd.DataFrame) -> list[str]:
    """The household-count columns of a cell table, in table order."""
    return [c for c in cells.columns if c.endswith(COUNT_SUFFIX) or c == "households"]


def add_percentages(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``X_pct`` for every ``X_households`` column except ``households`` itself."""
    frame = frame.copy()
    whole = frame["households"].to_numpy(dtype=float)
    for col in [c for c in frame.columns if c.endswith(COUNT_SUFFIX)]:
        share = pct_array(frame[col].to_numpy(dtype=float), whole)
        values = pd.Series(share, index=frame.index).astype(object)
        frame[col[: -len(COUNT_SUFFIX)] + "_pct"] = values.where(whole > 0, None)
    return frame


def cell_totals(cells: pd.DataFrame) -> pd.DataFrame:
    """Sum the per-commune rows of each cell (every household in it) and add ``*_pct``.

    Returns one row per cell: ``h3``, ``resolution``, ``communes`` (how many communes
    hold households there), every count column, then the percentages; sorted by h3.
    """
    counts = count_columns(cells)
    integral = all(pd.api.types.is_integer_dtype(cells[c]) for c in counts)
    grouped = cells.groupby(H3_COL, sort=True)
    out = grouped[counts].sum().astype("int64" if integral else float)
    out.insert(
        0,
        "communes",
        grouped["commune_code"].nunique() if "commune_code" in cells else 0,
    )
    out = out.reset_index()
    out.insert(1, "resolution", [h3.get_resolution(c) for c in out[H3_COL]])
    return add_percentages(out)


def roll_up(cells: pd.DataFrame, resolution: int, base: int) -> pd.DataFrame:
    """Cell totals at ``resolution``, coarser than or equal to the table's ``base``.

    Rows are re-grouped under their ``h3.cell_to_parent``, so counts stay exact.

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


def pyramid_file(resolution: int) -> str:
    """The pyramid level's path inside a results folder.

    >>> pyramid_file(7)
    'pyramid/cells_r7.parquet'
    """
    return f"{PYRAMID_DIR}/cells_r{int(resolution)}.parquet"
