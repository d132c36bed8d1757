"""The region's results folder (written by ``geodx run``), loaded once at startup.

The service reads only these files; it never recomputes coverage. Everything else in
``api/`` asks this module for communes, districts, cells and gaps.
"""

from __future__ import annotations

import ctypes
import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h3
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely
from shapely.geometry import shape

from api import lazycells
from api.cells import (
    cell_polygons,
    cell_totals,
    cells_are_valid,
    count_columns,
    resolution_for_at_most,
    roll_up,
)
from api.errors import NotFound
from api.exports import ExportCache
from api.features import FeatureIndex
from api.gap_tables import gap_export
from api.lazycells import LazyCells
from geodx.contract import (
    CELL_COLUMNS,
    CELLS_FILE,
    COMMUNE_COLUMNS,
    COMMUNES_FILE,
    DISTRICT_COLUMNS,
    DISTRICTS_FILE,
    ESTIMATED_MEMBER,
    GAP_INDICATORS,
    SUMMARY_FILE,
    TARGET_KEYS,
    gap_table,
    public_inputs,
    pyramid_file,
    targets_from,
    with_gaps,
)
from geodx.errors import InputFileError, MissingColumn, UnknownCommune
from geodx.outdir import snapshot
from geodx.pyramid import read_level
from geodx.search import NameSearch, fold

__all__ = [
    "LayerInfo",
    "NameSearch",
    "RegionResults",
    "fold",
    "load_results",
    "read_features",
    "trim_heap",
]


def _read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(
            f"{path}: cannot read results file ({exc.strerror})"
        ) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:  # Python's json writes NaN literals; accept and clean them
            return _no_nan(json.loads(raw))
        except ValueError as exc:
            raise InputFileError(f"{path}: not valid JSON ({exc})") from None


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def read_features(
    path: Path, required: tuple[str, ...]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Properties (exact JSON values) and shapely geometries of a GeoJSON file."""
    doc = _read_json(path)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputFileError(f"{path}: not a GeoJSON FeatureCollection")
    feats = doc.get("features") or []
    props = pd.DataFrame.from_records([f.get("properties") or {} for f in feats])
    props = props.astype(object).where(props.notna(), None) if len(props) else props
    for col in required:
        if col not in props.columns:
            if not feats:
                props[col] = pd.Series(dtype=object)
                continue
            raise MissingColumn(f"{path}: property '{col}' is missing")
    geoms = np.asarray(
        [shape(f["geometry"]) if f.get("geometry") else None for f in feats],
        dtype=object,
    )
    return props, geoms


@dataclass(frozen=True)
class LayerInfo:
    """One coverage layer as listed in ``summary.json``."""

    id: str
    slug: str
    kind: str
    technology: str | None
    operator: str | None
    source: str | None
    households: int | float | None
    pct: float | None

    @classmethod
    def from_summary(cls, item: dict[str, Any]) -> LayerInfo:
        """Build from one entry of ``summary["layers"]``."""
        return cls(
            id=str(item.get("id", "")),
            slug=str(item.get("slug", "")),
            kind=str(item.get("kind", "")),
            technology=item.get("technology"),
            operator=item.get("operator"),
            source=item.get("source"),
            households=item.get("households"),
            pct=item.get("pct"),
        )


@dataclass
class RegionResults:
    """The tables of one computed region, with lookups used by the routes.

    ``folder`` is the pinned snapshot every file was read from, ``version`` its id.
    """

    folder: Path
    summary: dict[str, Any]
    communes: pd.DataFrame
    commune_geoms: np.ndarray
    districts: pd.DataFrame
    district_geoms: np.ndarray
    cells: pd.DataFrame
    version: str = ""
    _cell_cache: dict[int, FeatureIndex] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _exports: ExportCache = field(default_factory=ExportCache, repr=False)
    _pages: ExportCache = field(default_factory=ExportCache, repr=False)
    _lazy: dict[int, LazyCells] = field(default_factory=dict, repr=False)
    lazy_cells_above: int = field(default=lazycells.LAZY_ABOVE, repr=False)

    def __post_init__(self) -> None:
        self.summary = {**self.summary}
        if "inputs" in self.summary:  # results of older runs: no absolute paths
            self.summary["inputs"] = public_inputs(self.summary["inputs"])
        # The files' properties are served as written; rows for reports and gap tables
        # get the gap columns older runs did not write, by the contract's rule.
        self._rows = with_gaps(self.communes, self.targets)
        self.members: dict[str, Any] = {"synthetic": self.synthetic}
        if self.households_estimated:  # as the run's own files say it (DESIGN.md)
            self.members[ESTIMATED_MEMBER] = True
        self.communes_index = self._index(self.communes, self.commune_geoms, "commune")
        self.districts_index = self._index(
            self.districts, self.district_geoms, "district"
        )
        # The cell table's sums per cell are built on first use (cells collection,
        # results of a run before the pyramid): 1.2M national rows took 8 s and 1.5 GB.
        self._cell_totals: pd.DataFrame | None = None
        self._resolution = _table_resolution(self.cells, self.summary)
        self.gaps_tables = {
            ind: gap_table(self._rows, ind, self.targets[TARGET_KEYS[ind]])
            for ind in GAP_INDICATORS
        }
        self.gaps_index: dict[str, FeatureIndex] = {}
        for ind, table in self.gaps_tables.items():
            geoms = self.commune_geoms[table["_pos"].to_numpy(dtype=int)]
            self.gaps_index[ind] = self._index(
                table.drop(columns="_pos"), geoms, "commune"
            )
        self._search = NameSearch.build(self.communes)
        self._code_pos = {
            str(c): i for i, c in enumerate(self.communes["commune_code"])
        }
        # The cells collection (per-feature GeoJSON) is built on its first request:
        # national maps draw hexagons from tiles, and a worker need not hold them all.

    def _index(self, props: pd.DataFrame, geoms: np.ndarray, kind: str) -> FeatureIndex:
        return FeatureIndex.build(props, geoms, f"{kind}_code", members=self.members)

    @property
    def name(self) -> str:
        """The region's name, as written in the manifest."""
        return str(self.summary.get("region") or "")

    @property
    def synthetic(self) -> bool:
        """True when the region's inputs are synthetic (generated) data."""
        return bool(self.summary.get("synthetic", False))

    @property
    def households_estimated(self) -> bool:
        """True when households were spread from counts: every figure is an estimate."""
        return self.summary.get(ESTIMATED_MEMBER) is True

    @property
    def h3_resolution(self) -> int:
        """Resolution of the cell table (from its cells; else from the summary)."""
        return self._resolution

    @property
    def cell_totals(self) -> pd.DataFrame:
        """One row per cell of the table, every household in it (built once)."""
        with self._lock:
            if self._cell_totals is None:
                self._cell_totals = cell_totals(self.cells)
            return self._cell_totals

    def level(self, res: int) -> pd.DataFrame:
        """Cell totals at ``res``: the run's pyramid level, else rolled up here.

        The pyramid holds the contract's roll-up (:mod:`geodx.pyramid`); its
        percentages are read back as the contract writes them (None, not NaN).
        """
        base = self.h3_resolution
        frame = read_level(self.folder, res) if 0 <= res <= base else None
        if frame is None:
            return roll_up(self.cells, res, base)  # raises InvalidResolution
        for col in [c for c in frame.columns if c.endswith("_pct")]:
            values = frame[col].astype(object)
            frame[col] = values.where(frame[col].notna(), None)
        return frame

    def resolution_for_at_most(self, max_cells: int) -> int:
        """The finest resolution at which the cells number at most ``max_cells``.

        :func:`api.cells.resolution_for_at_most` of the cell totals, with the counts
        of the pyramid's levels where the run wrote them (no roll-up of the table).
        """
        if len(self.cells) == 0:
            return 0
        for res in range(self.h3_resolution, -1, -1):
            rows = level_rows(self.folder, res)
            if rows is None:
                coarsest = self.level(res + 1) if res < self.h3_resolution else None
                totals = self.cell_totals if coarsest is None else coarsest
                return min(res, resolution_for_at_most(totals, max_cells))
            if rows <= max_cells:
                return res
        return 0

    @property
    def targets(self) -> dict[str, float]:
        """Targets in percent, with the contract's defaults for missing keys."""
        return targets_from(self.summary.get("targets"))

    @property
    def layers(self) -> list[LayerInfo]:
        """The coverage layers, as ``summary.json`` lists them."""
        return [
            LayerInfo.from_summary(x)
            for x in self.summary.get("layers") or []
            if isinstance(x, dict)
        ]

    def commune(self, code: str) -> dict[str, Any]:
        """One commune's properties.

        Raises
        ------
        UnknownCommune
        """
        pos = self._code_pos.get(code)
        if pos is None:
            raise UnknownCommune(f"no commune with code '{code[:40]}'")
        row = self._rows.iloc[pos].to_dict()
        return {
            str(k): (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()
        }

    def commune_geometry(self, code: str) -> shapely.Geometry:
        """The polygon of one commune (raises UnknownCommune)."""
        self.commune(code)
        return self.commune_geoms[self._code_pos[code]]

    def search(self, query: str) -> pd.DataFrame:
        """Communes whose name, code or district name matches ``query`` (see fold)."""
        return self.communes.iloc[self._search.find(query)]

    def gaps(self, indicator: str) -> pd.DataFrame:
        """The gap table for ``fibre`` or ``mobile`` (without geometry)."""
        return self.gaps_tables[indicator].drop(columns="_pos")

    def export(
        self, indicator: str, fmt: str, lang: str, district_code: str | None = None
    ) -> bytes:
        """The gap table as ``csv`` or ``xlsx`` bytes, built once per version and key."""
        return self._exports.get(
            (self.version, indicator, fmt, lang, district_code),
            lambda: gap_export(self, indicator, fmt, lang, district_code),
        )

    def page(self, key: tuple[str, ...], build: Callable[[], bytes]) -> bytes:
        """A computed page's bytes, built once per version and ``key`` (kept LRU)."""
        return self._pages.get((self.version, *key), build)

    def full_cells_index(self, resolution: int | None = None) -> FeatureIndex:
        """Every cell at ``resolution`` (default: the table's) serialised, built once."""
        res = self.h3_resolution if resolution is None else resolution
        with self._lock:
            if res not in self._cell_cache:
                frame = self.level(res)
                self._cell_cache[res] = FeatureIndex.build(
                    frame, cell_polygons(frame["h3"]), "h3", members=self.members
                )
            return self._cell_cache[res]

    def cells_index(self, resolution: int | None = None) -> FeatureIndex | LazyCells:
        """The cells collection at ``resolution`` (default: the table's).

        :meth:`full_cells_index`; past ``lazy_cells_above`` cells at a resolution whose
        pyramid level the run wrote, a :class:`LazyCells` of that level
        (``lazy_cells_above``: ``lazycells.LAZY_ABOVE`` unless a test lowers it).
        """
        res = self.h3_resolution if resolution is None else resolution
        rows = level_rows(self.folder, res) if 0 <= res <= self.h3_resolution else None
        if rows is None or rows <= self.lazy_cells_above:
            return self.full_cells_index(res)
        with self._lock:
            found = self._lazy.get(res)
        if found is None:
            found = LazyCells.open(
                self.cells, self.folder / pyramid_file(res), res=res,
                base=self.h3_resolution, members=self.members,
            )  # fmt: skip
            if found is None:  # ids not in the plain form: the full index
                return self.full_cells_index(res)
            with self._lock:
                found = self._lazy.setdefault(res, found)
        return found

    def collection(
        self,
        collection_id: str,
        *,
        resolution: int | None = None,
        indicator: str = "fibre",
    ) -> FeatureIndex | LazyCells:
        """The feature index of one OGC API collection.

        Raises
        ------
        NotFound
            Unknown collection id.
        """
        if collection_id == "communes":
            return self.communes_index
        if collection_id == "districts":
            return self.districts_index
        if collection_id == "cells":
            return self.cells_index(resolution)
        if collection_id == "gaps":
            return self.gaps_index[indicator]
        raise NotFound(f"no collection '{collection_id[:40]}'; see /collections")


def _table_resolution(cells: pd.DataFrame, summary: dict[str, Any]) -> int:
    """The resolution of the cell table's first cell by h3 (the cell totals' first)."""
    if len(cells):
        return int(h3.get_resolution(str(cells["h3"].min())))
    res = summary.get("h3_resolution")
    return res if isinstance(res, int) and 0 <= res <= 15 else 9


_PENTAGON_BASES = np.asarray([4, 14, 24, 38, 49, 58, 63, 72, 83, 97, 107, 117])
_HEX = np.full(256, 255, dtype=np.uint8)
_HEX[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_HEX[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)


def _plain_cells(codes: np.ndarray) -> np.ndarray:
    """Which ``S15`` ids are H3 cells by their bits alone (pentagons left out).

    H3's own rule for a cell: top bit 0, mode 1, reserved bits 0, base cell below 122,
    digits 0-6 down to the resolution and 7 past it (pentagons add one more rule).
    """
    nibbles = _HEX[codes.view(np.uint8).reshape(-1, 15)]
    ok = (nibbles != 255).all(axis=1)
    value = np.zeros(len(codes), dtype=np.uint64)
    for i in range(15):
        value = (value << np.uint64(4)) | nibbles[:, i].astype(np.uint64)
    top = value >> np.uint64(52)  # reserved bit, mode, reserved bits, resolution
    ok &= ((top >> np.uint64(4)) == 0b0001000) & ~np.isin(
        (value >> np.uint64(45)) & np.uint64(0x7F), _PENTAGON_BASES
    )
    ok &= ((value >> np.uint64(45)) & np.uint64(0x7F)) < 122
    digits = value & np.uint64(2**45 - 1)
    tail = np.uint64(3) * (np.uint64(15) - (top & np.uint64(0xF)))  # bits past res
    ones = (np.uint64(1) << tail) - np.uint64(1)
    seven = digits & (digits >> np.uint64(1)) & (digits >> np.uint64(2))
    seven &= np.uint64(sum(1 << (3 * k) for k in range(15)))  # a digit's three bits
    ok &= ((digits & ones) == ones) & ((seven >> tail) == 0)
    return np.asarray(ok, dtype=bool)


def valid_cells(cells: pd.Series) -> bool:
    """:func:`api.cells.cells_are_valid`, the plain ids checked by their bits at once.

    The others (pentagons, other spellings, anything the bits refuse) go through H3
    one by one, so the answer is H3's.
    """
    found = pa.array(cells, from_pandas=True)  # no copy of an arrow-backed column
    arr = found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return cells_are_valid(cells)
    plain = pc.fill_null(pc.match_substring_regex(arr, "^[0-9a-f]{15}$"), False)
    fixed = pc.cast(arr.filter(plain), pa.binary(15))
    codes = np.frombuffer(
        fixed.buffers()[1], dtype="S15", count=len(fixed), offset=fixed.offset * 15
    )
    fast = np.zeros(len(arr), dtype=bool)
    fast[plain.to_numpy(zero_copy_only=False)] = _plain_cells(codes)
    if fast.all():
        return True
    rest = cells.to_numpy(dtype=object)[~fast]
    return cells_are_valid(pd.Series(rest, dtype=object))


def narrow_counts(cells: pd.DataFrame) -> pd.DataFrame:
    """Integer counts held as int32 when no sum of them can pass it (same values).

    A count column that is never negative and totals below 2**31 cannot overflow in
    any sum of its rows; every sum of the tables comes out as int64 anyway
    (:func:`geodx.contract.cell_totals`). The national table: 157 MB less a worker.
    """
    narrow = {}
    for col in count_columns(cells):
        values = cells[col]
        if values.dtype != np.int64 or not len(values):
            continue
        if values.min() >= 0 and int(values.sum()) < 2**31 - 1:
            narrow[col] = values.astype(np.int32)
    return cells.assign(**narrow) if narrow else cells


def level_rows(folder: Path, res: int) -> int | None:
    """Rows of the pyramid level ``res`` written in ``folder`` (None: not written)."""
    path = folder / pyramid_file(res)
    if not path.is_file():
        return None
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, ValueError):
        return None


def trim_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim``).

    Reading the national files leaves hundreds of MB freed but held by the allocator
    in every worker; elsewhere than glibc this does nothing.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return


def load_results(folder: Path) -> RegionResults:
    """Read a results folder written by ``geodx run``, from one pinned snapshot.

    ``geodx.outdir.snapshot(folder)`` is resolved once and every file is read from its
    path, so the tables never mix two runs; ``RegionResults.version`` is its id.

    Raises
    ------
    InputFileError
        A file is missing or unreadable.
    MissingColumn
        A required property or column is missing.
    """
    snap = snapshot(folder)
    root = snap.path
    summary = _read_json(root / SUMMARY_FILE)
    if not isinstance(summary, dict):
        raise InputFileError(f"{root / SUMMARY_FILE}: expected a JSON object")
    communes, commune_geoms = read_features(root / COMMUNES_FILE, COMMUNE_COLUMNS)
    districts, district_geoms = read_features(root / DISTRICTS_FILE, DISTRICT_COLUMNS)
    path = root / CELLS_FILE
    try:  # the frame pd.read_parquet gives, without its copies (1.2M rows: 3 s, 0.4 GB)
        cells = pq.read_table(path).to_pandas(split_blocks=True, self_destruct=True)
        pa.default_memory_pool().release_unused()
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from None
    for col in CELL_COLUMNS:
        if col not in cells.columns:
            raise MissingColumn(f"{path}: column '{col}' is missing")
    cells = narrow_counts(cells)
    if not valid_cells(cells["h3"]):
        raise InputFileError(f"{path}: column 'h3' holds values that are not H3 cells")
    return RegionResults(
        root,
        summary,
        communes,
        commune_geoms,
        districts,
        district_geoms,
        cells,
        version=snap.version,
    )
