"""The ``cells`` collection of a large cell table, serialised one page at a time.

:class:`api.features.FeatureIndex` serialises every feature once; for the national
table (1.2M cells at resolution 9) that took 2 minutes and 8 GB per worker. Past
:data:`LAZY_ABOVE` cells at a resolution whose pyramid level the run wrote
(:mod:`geodx.pyramid`), the collection is a :class:`LazyCells` instead: it keeps the
level's cell ids (and, once a bbox is asked, their centres), and builds each page's
features when asked, by the contract's roll-up (:func:`geodx.contract_cells.roll_up`) of
only the cell-table rows under the page's cells. The features are the same bytes as
the full index's; a property filter reads that one column of the pyramid level.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from api.cellcheck import arrow_column, id_bytes, is_text
from api.cells import cell_polygons, roll_up
from api.errors import BadRequest
from api.features import BBox, _column_kind, _split_antimeridian, parse_filter_value
from geodx.contract_geojson import (
    rfc7946,
    serialise,
    with_members,
)
from geodx.contract_names import DECIMALS

LAZY_ABOVE = 50_000  # cells at one resolution past which the collection is lazy
BATCH = 1000  # features built at once (a page: Settings.max_limit by default)
CACHED = 20_000  # features kept per collection
_RES_SHIFT = 52
_KEY = np.dtype("S15")  # an H3 cell id: 15 lower-case hex digits


def keys_of(values: Any) -> np.ndarray | None:
    """Cell ids as sortable fixed-width bytes; None unless all are 15 lower-case hex."""
    arr = np.asarray(values, dtype=object)
    if not all(isinstance(v, str) and len(v) == 15 and v == v.lower() for v in arr):
        return None
    return arr.astype(_KEY)


def column_keys(column: Any) -> np.ndarray | None:
    """:func:`keys_of` of an Arrow or pandas string column, read in Arrow.

    Without a Python string per id (the national 1.2M ids, twice, left 40 MB of
    Python's small-object heap behind them): when every id is 15 ASCII characters,
    lower-case, none missing, its 15 bytes are the key ``keys_of`` gives; any other
    column goes through :func:`keys_of` itself.
    """
    arr = arrow_column(column)
    if not is_text(arr) or arr.null_count or not len(arr):
        return keys_of(arr.to_pylist())
    plain = pc.and_(pc.string_is_ascii(arr), pc.equal(pc.utf8_length(arr), 15))
    plain = pc.and_(plain, pc.equal(pc.utf8_lower(arr), arr))
    if not pc.all(plain).as_py():
        return keys_of(arr.to_pylist())
    return id_bytes(arr).copy()  # its own memory: Arrow's buffers go back


def descendants(cell: str, base: int) -> tuple[bytes, bytes]:
    """The half-open range ``[lo, hi)`` of ids of ``cell``'s descendants at ``base``.

    The digits below a cell's resolution are 7 (unused); a descendant at ``base``
    keeps the cell's digits and has 0-6 at each finer one, so it sorts between the
    cell's id with those digits at 0 (``lo``) and at 7 (``hi``), resolution ``base``.

    >>> lo, hi = descendants("85283473fffffff", 9)
    >>> lo <= h3.cell_to_center_child("85283473fffffff", 9).encode() < hi
    True
    """
    res = h3.get_resolution(cell)
    value = int(cell, 16)
    value = (value & ~(0xF << _RES_SHIFT)) | (base << _RES_SHIFT)
    hi = value
    for digit in range(res + 1, base + 1):
        value &= ~(0x7 << (3 * (15 - digit)))
    return f"{value:015x}".encode(), f"{hi:015x}".encode()


def _names(keys: np.ndarray) -> pd.Series:
    return pd.Series([k.decode() for k in keys.tolist()], dtype=object)


class _Features:
    """``index.features[i]``: built a page at a time from the last selection."""

    def __init__(self, owner: LazyCells) -> None:
        self.owner = owner

    def __getitem__(self, pos: int) -> bytes:
        return self.owner.feature_at(int(pos))

    def __len__(self) -> int:
        return len(self.owner)


class LazyCells:
    """The cells collection at ``res`` from its pyramid level and the cell table."""

    def __init__(
        self,
        cells: pd.DataFrame,
        level_path: Path,
        keys: np.ndarray,
        table: np.ndarray,
        *,
        res: int,
        base: int,
        members: Mapping[str, Any] | None = None,
    ) -> None:
        """``keys``: the level's ids, ``table``: the cell table's (:func:`keys_of`)."""
        self.cells, self.path, self.keys = cells, level_path, keys
        self.res, self.base = res, base
        self.members = dict(members or {})
        self.features = _Features(self)
        self._order = np.argsort(table, kind="stable")
        self._sorted = table[self._order]
        self._names = pq.ParquetFile(level_path).schema_arrow.names
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._kinds: dict[str, str | None] = {}
        self._centres: tuple[np.ndarray, np.ndarray] | None = None
        self._extent: list[float] | None = None
        self._last = threading.local()

    @classmethod
    def open(
        cls,
        cells: pd.DataFrame,
        level_path: Path,
        *,
        res: int,
        base: int,
        members: Mapping[str, Any] | None = None,
    ) -> LazyCells | None:
        """The lazy collection, or None when the ids are not all plain lower-case."""
        keys = column_keys(pq.read_table(level_path, columns=["h3"]).column("h3"))
        if keys is None:
            return None
        if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
            return None  # a level is sorted by h3, as cell_totals sorts
        table = column_keys(cells["h3"])
        if table is None:
            return None
        return cls(cells, level_path, keys, table, res=res, base=base, members=members)

    def __len__(self) -> int:
        return len(self.keys)

    # --- features ---------------------------------------------------------------
    def _rows(self, cells: np.ndarray) -> np.ndarray:
        """Positions in the cell table of the rows under ``cells`` (ids at ``res``)."""
        if self.res == self.base:
            lo = np.searchsorted(self._sorted, cells, side="left")
            hi = np.searchsorted(self._sorted, cells, side="right")
        else:
            bounds = [descendants(c.decode(), self.base) for c in cells]
            lo = np.searchsorted(self._sorted, [b[0] for b in bounds], side="left")
            hi = np.searchsorted(self._sorted, [b[1] for b in bounds], side="left")
        parts = [self._order[a:b] for a, b in zip(lo, hi, strict=True)]
        return np.sort(np.concatenate(parts)) if parts else np.asarray([], dtype=int)

    def build(self, positions: np.ndarray) -> list[bytes]:
        """The features of the cells at ``positions`` (ascending), as the index has them."""
        frame = roll_up(
            self.cells.iloc[self._rows(self.keys[positions])], self.res, self.base
        )
        frame = frame.reset_index(drop=True)
        ids = [str(v) for v in frame["h3"]]
        _, features = serialise(cell_polygons(frame["h3"]), frame, ids)
        return features

    def feature_at(self, pos: int) -> bytes:
        """The feature at ``pos``, built with the rest of its page of the last selection."""
        with self._lock:
            found = self._cache.get(pos)
        if found is not None:
            return found
        selected = getattr(self._last, "selected", None)
        if selected is None or not len(selected) or pos not in selected:
            batch = np.asarray([pos])
        else:
            start = int(np.searchsorted(selected, pos))
            batch = selected[start : start + BATCH]
        built = self.build(batch)
        with self._lock:
            for p, body in zip(batch.tolist(), built, strict=True):
                self._cache[p] = body
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)
        return built[0]

    def feature(self, fid: str) -> bytes | None:
        """One feature with the collection's top-level members, or None."""
        key = fid.encode() if len(fid) == 15 and fid.isascii() else None
        pos = int(np.searchsorted(self.keys, key)) if key is not None else len(self)
        if pos >= len(self) or self.keys[pos] != key:
            return None
        return with_members(self.build(np.asarray([pos]))[0], self.members)

    # --- selection --------------------------------------------------------------
    def _column(self, name: str) -> pd.Series:
        col: pd.Series = pd.Series(
            pq.read_table(self.path, columns=[name]).column(name).to_pandas()
        )
        if name.endswith("_pct"):  # as the contract's roll-up has them: None, not NaN
            col = col.astype(object).where(col.notna(), None)
        return col

    def _kind(self, name: str) -> str | None:
        if name not in self._kinds:
            known = name in self._names
            self._kinds[name] = _column_kind(self._column(name)) if known else None
        return self._kinds[name]

    def select(self, bbox: BBox | None, filters: Mapping[str, str]) -> np.ndarray:
        """Positions of the cells meeting ``bbox`` and every filter (ascending).

        Raises
        ------
        BadRequest
            A filter names no property of this collection, or its value does not parse.
        """
        keep = np.ones(len(self), dtype=bool)
        for name, raw in filters.items():
            kind = self._kind(name)
            if kind is None:
                raise BadRequest(f"unknown query parameter or property '{name[:60]}'")
            value = parse_filter_value(name, kind, raw)
            column = self._column(name)
            if value is None:
                keep &= pd.isna(column).to_numpy()
            else:
                keep &= np.asarray(column.to_numpy(dtype=object) == value, dtype=bool)
        if bbox is not None:
            hit = np.zeros(len(self), dtype=bool)
            for box in _split_antimeridian(bbox):
                hit[self._meeting(box)] = True
            keep &= hit
        selected = np.flatnonzero(keep)
        self._last.selected = selected
        return selected

    def _centres_deg(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._centres is None:
                latlng = np.asarray(
                    [h3.cell_to_latlng(k.decode()) for k in self.keys], dtype=float
                ).reshape(-1, 2)
                self._centres = (latlng[:, 0], latlng[:, 1])
            return self._centres

    def _margin(self) -> float:
        """Degrees of latitude a cell reaches beyond its centre (twice its edge)."""
        return 2.0 * float(h3.average_hexagon_edge_length(self.res, unit="km")) / 111.0

    def _meeting(self, box: BBox) -> np.ndarray:
        lat, lng = self._centres_deg()
        pad = self._margin()
        cos = max(np.cos(np.radians(max(abs(box.south), abs(box.north)))), 0.01)
        near = np.flatnonzero(
            (lat >= box.south - pad) & (lat <= box.north + pad)
            & (lng >= box.west - pad / cos) & (lng <= box.east + pad / cos)
        )  # fmt: skip
        shapes = rfc7946(cell_polygons(_names(self.keys[near])))
        found: np.ndarray = near[shapely.intersects(shapes, shapely.box(*box))]
        return found

    @property
    def extent(self) -> list[float] | None:
        """``[west, south, east, north]`` of every cell's hexagon, or None when empty."""
        if not len(self):
            return None
        if self._extent is None:
            lat, lng = self._centres_deg()
            pad = self._margin()
            cos = max(float(np.cos(np.radians(np.abs(lat).max()))), 0.01)
            edge = (
                (lat <= lat.min() + pad) | (lat >= lat.max() - pad)
                | (lng <= lng.min() + pad / cos) | (lng >= lng.max() - pad / cos)
            )  # fmt: skip
            shapes = rfc7946(cell_polygons(_names(self.keys[edge])))
            self._extent = [
                round(float(v), DECIMALS) for v in shapely.total_bounds(shapes)
            ]
        return self._extent
