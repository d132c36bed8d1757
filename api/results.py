"""The region's results folder (written by ``geodx run``), loaded once at startup.

The service reads only these files; it never recomputes coverage. Everything else in
``api/`` asks this module for communes, districts, cells and gaps.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from api import lazycells
from api.cellcheck import narrow_counts, valid_cells
from api.cells import cell_polygons, cell_totals, resolution_for_at_most, roll_up
from api.errors import NotFound
from api.exports import ExportCache
from api.features import FeatureIndex
from api.gap_tables import gap_export
from api.lazycells import LazyCells
from api.results_files import read_features, read_json
from geodx.contract import public_inputs
from geodx.contract_cells import pyramid_file
from geodx.contract_figures import (
    gap_table,
    targets_from,
    with_gaps,
)
from geodx.contract_names import (
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
)
from geodx.errors import GeodxError, InputFileError, MissingColumn, UnknownCommune
from geodx.heap import trim_heap
from geodx.outdir_snapshot import snapshot
from geodx.pyramid import read_level
from geodx.search import NameSearch, fold

log = logging.getLogger("geodx.api")

__all__ = [
    "LayerInfo",
    "NameSearch",
    "RegionResults",
    "fold",
    "load_results",
    "read_features",
    "valid_cells",
]


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
    #: the cell table, or what reads it on first use (:attr:`cells`)
    cells_from: pd.DataFrame | Callable[[], pd.DataFrame]
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
        # The collections' serialised features are built on first use (the country's
        # communes, districts and gaps: 1.3 s of CPU a worker before its first answer).
        self._indexes: dict[str, FeatureIndex] = {}
        self._index_lock = threading.Lock()
        # The cell table is read on first use (:meth:`prepare` reads it in the
        # background at start-up); its sums per cell too (cells collection, results
        # of a run before the pyramid): 1.2M national rows took 8 s and 1.5 GB.
        self._cells_lock = threading.Lock()
        self._cell_totals: pd.DataFrame | None = None
        self._resolution: int | None = None
        self.gaps_tables = {
            ind: gap_table(self._rows, ind, self.targets[TARGET_KEYS[ind]])
            for ind in GAP_INDICATORS
        }
        self._search: NameSearch | None = None  # built by the first search (0.2 s)
        self._code_pos = {
            str(c): i for i, c in enumerate(self.communes["commune_code"])
        }
        # The cells collection (per-feature GeoJSON) is built on its first request:
        # national maps draw hexagons from tiles, and a worker need not hold them all.

    def _index(self, props: pd.DataFrame, geoms: np.ndarray, kind: str) -> FeatureIndex:
        return FeatureIndex.build(props, geoms, f"{kind}_code", members=self.members)

    def _built(self, name: str) -> FeatureIndex:
        """The feature index ``communes``, ``districts``, ``gaps:<indicator>``, built once."""
        with self._index_lock:
            found = self._indexes.get(name)
            if found is None:
                found = self._indexes[name] = self._build_index(name)
            return found

    def _build_index(self, name: str) -> FeatureIndex:
        if name == "communes":
            return self._index(self.communes, self.commune_geoms, "commune")
        if name == "districts":
            return self._index(self.districts, self.district_geoms, "district")
        table = self.gaps_tables[name.removeprefix("gaps:")]
        geoms = self.commune_geoms[table["_pos"].to_numpy(dtype=int)]
        return self._index(table.drop(columns="_pos"), geoms, "commune")

    @property
    def communes_index(self) -> FeatureIndex:
        """The communes collection (every feature serialised, built on first use)."""
        return self._built("communes")

    @property
    def districts_index(self) -> FeatureIndex:
        """The districts collection (built on first use)."""
        return self._built("districts")

    @property
    def gaps_index(self) -> dict[str, FeatureIndex]:
        """The gaps collection of each indicator (built on first use)."""
        return {ind: self._built(f"gaps:{ind}") for ind in GAP_INDICATORS}

    @property
    def cells(self) -> pd.DataFrame:
        """The cell table ``cells.parquet`` (read on first use, then kept).

        Raises
        ------
        InputFileError, MissingColumn
            The file is unreadable, lacks a column or holds ids that are not H3 cells.
        """
        with self._cells_lock:
            if not isinstance(self.cells_from, pd.DataFrame):
                self.cells_from = self.cells_from()
            return self.cells_from

    def prepare(self) -> None:
        """Read the cell table, build the communes and districts collections now.

        Start-up's background; the gaps collections are built by their first page.

        Pages then need not wait for them; a file that cannot be read is said by the
        pages that need it.
        """
        try:
            self.cells  # noqa: B018 - read now, not on the first page
            # the gaps collections (communes' polygons serialised again: nationally
            # 12 MB a worker for fibre's) wait for their first page
            for name in ("communes", "districts"):
                self._built(name)
        except GeodxError:
            log.exception("results: could not read the cell table")
        finally:
            trim_heap()  # what reading the table freed goes back to the system

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
        if self._resolution is None:
            self._resolution = _table_resolution(self.cells, self.summary)
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
        with self._index_lock:
            if self._search is None:
                self._search = NameSearch.build(self.communes)
            found = self._search
        return self.communes.iloc[found.find(query)]

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


def level_rows(folder: Path, res: int) -> int | None:
    """Rows of the pyramid level ``res`` written in ``folder`` (None: not written)."""
    path = folder / pyramid_file(res)
    if not path.is_file():
        return None
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, ValueError):
        return None


def load_results(folder: Path) -> RegionResults:
    """Read a results folder written by ``geodx run``, from one pinned snapshot.

    ``geodx.outdir_snapshot.snapshot(folder)`` is resolved once and every file is read from its
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
    summary = read_json(root / SUMMARY_FILE)
    if not isinstance(summary, dict):
        raise InputFileError(f"{root / SUMMARY_FILE}: expected a JSON object")
    communes, commune_geoms = read_features(root / COMMUNES_FILE, COMMUNE_COLUMNS)
    districts, district_geoms = read_features(root / DISTRICTS_FILE, DISTRICT_COLUMNS)
    path = root / CELLS_FILE
    try:  # its columns now; its 1.2M national rows on first use
        names = pq.ParquetFile(path).schema_arrow.names
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from None
    for col in CELL_COLUMNS:
        if col not in names:
            raise MissingColumn(f"{path}: column '{col}' is missing")
    return RegionResults(
        root,
        summary,
        communes,
        commune_geoms,
        districts,
        district_geoms,
        partial(read_cells, path),
        version=snap.version,
    )


def read_cells(path: Path) -> pd.DataFrame:
    """The cell table of ``path``, its counts narrow where no sum can overflow.

    Raises
    ------
    InputFileError, MissingColumn
    """
    try:  # the frame pd.read_parquet gives, without its copies (1.2M rows: 3 s, 0.4 GB)
        cells = pq.read_table(path).to_pandas(split_blocks=True, self_destruct=True)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from None
    for col in CELL_COLUMNS:
        if col not in cells.columns:
            raise MissingColumn(f"{path}: column '{col}' is missing")
    cells = narrow_counts(cells)
    trim_heap()  # the wide columns narrow_counts replaced, Arrow's until released
    if not valid_cells(cells["h3"]):
        raise InputFileError(f"{path}: column 'h3' holds values that are not H3 cells")
    return cells
