"""``plan.parquet`` held small: plain columns and each commune's rows by position.

The national plan table (1.67M households without fibre) held as pandas took 97 MB a
worker, its commune and H3 columns as strings. :class:`PlanTable` keeps ``extension_m``
and ``households`` as read, each H3 id as 15 bytes (when every id is 15 lower-case
hex digits, else as the strings read) and, per commune code, the positions of its
rows: 55 MB. :meth:`PlanTable.of` and :meth:`PlanTable.assigned` give the rows the
frame's ``rows[rows["commune_code"] == code]`` and ``rows[rows["commune_code"].notna()]``
gave, in file order, with the same values; their H3 ids as a NumPy string array, not a
Python string each (the province's 1.67M left tens of MB of small-object heap behind).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from numpy.typing import NDArray

from api.cellcheck import PLAIN_ID, arrow_column, id_bytes, is_text
from geodx.contract_names import EXTENSION_COL, PLAN_COLUMNS

__all__ = ["PlanRows", "PlanTable"]


def _h3_ids(values: pd.Series) -> np.ndarray:
    """``S15`` bytes when every id is plain (no null), else the values as objects."""
    arr = arrow_column(values)
    plain = is_text(arr) and arr.null_count == 0 and len(arr) > 0
    if plain:
        plain = bool(pc.all(pc.match_substring_regex(arr, PLAIN_ID)).as_py())
    if not plain:
        return values.to_numpy(dtype=object)
    return id_bytes(arr).copy()  # its own memory: Arrow's buffers go back


def _positions(codes: pd.Series) -> dict[str, NDArray[np.int32]]:
    """Rows of each commune code (a string), ascending: what ``== code`` selects."""
    groups = codes.groupby(codes, sort=False).indices  # positions in ``codes``; no null
    return {
        c: np.asarray(p, dtype=np.int32)
        for c, p in groups.items()
        if isinstance(c, str)
    }


class PlanRows(NamedTuple):
    """Some rows of the plan: ``extension_m``, households (as read) and H3 ids."""

    extension: NDArray[np.float64]
    households: pd.Series
    h3: np.ndarray  # str: fixed-width NumPy strings, or the objects read


@dataclass(frozen=True)
class PlanTable:
    """The plan's rows: ``extension_m`` (NaN read as infinite), households, H3 ids."""

    extension: NDArray[np.float64]
    households: np.ndarray
    h3: np.ndarray
    communes: dict[str, NDArray[np.int32]]
    with_commune: NDArray[np.int32]

    @classmethod
    def of_frame(cls, table: pd.DataFrame) -> PlanTable:
        """From the frame of ``plan.parquet``'s plan columns, as read."""
        codes = table["commune_code"]
        return cls(
            extension=np.asarray(
                table[EXTENSION_COL].astype(float).fillna(np.inf), dtype=np.float64
            ),
            households=table["households"].to_numpy(),
            h3=_h3_ids(table["h3"]),
            communes=_positions(codes),
            with_commune=np.flatnonzero(codes.notna().to_numpy()).astype(np.int32),
        )

    @classmethod
    def read(cls, path: Path) -> PlanTable:
        """Read ``path``'s plan columns (errors as ``pd.read_parquet`` raises them)."""
        return cls.of_frame(pd.read_parquet(path, columns=list(PLAN_COLUMNS)))

    def _rows(self, at: NDArray[Any]) -> PlanRows:
        h3 = self.h3[at]
        if h3.dtype.kind == "S":  # plain ids: ASCII, so their bytes are their text
            h3 = h3.astype("U15")
        households = pd.Series(self.households[at])
        return PlanRows(self.extension[at], households, h3)

    def of(self, code: str) -> PlanRows:
        """The rows of commune ``code``, in file order (none: no rows)."""
        return self._rows(self.communes.get(code, np.zeros(0, dtype=np.int32)))

    def assigned(self) -> PlanRows:
        """The rows with a commune, in file order."""
        return self._rows(self.with_commune)
