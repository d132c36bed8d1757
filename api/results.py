"""The region's results folder (written by ``geodx run``), loaded once at startup.

The service reads only these files; it never recomputes coverage. Everything else in
``api/`` asks this module for communes, districts, cells and gaps.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import shapely
from shapely.geometry import shape

from api.cells import cell_polygons, cell_totals, cells_are_valid, roll_up
from api.errors import NotFound
from api.exports import ExportCache
from api.features import FeatureIndex
from api.gap_tables import gap_export
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
    targets_from,
    with_gaps,
)
from geodx.errors import InputFileError, MissingColumn, UnknownCommune
from geodx.outdir import snapshot
from geodx.search import NameSearch, fold

__all__ = [
    "LayerInfo",
    "NameSearch",
    "RegionResults",
    "fold",
    "load_results",
    "read_features",
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
        self.cell_totals = cell_totals(self.cells)
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
        if len(self.cell_totals):
            return int(self.cell_totals["resolution"].to_numpy()[0])
        res = self.summary.get("h3_resolution")
        return res if isinstance(res, int) and 0 <= res <= 15 else 9

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

    def cells_index(self, resolution: int | None = None) -> FeatureIndex:
        """The cells collection at ``resolution`` (default: the table's), built once."""
        res = self.h3_resolution if resolution is None else resolution
        with self._lock:
            if res not in self._cell_cache:
                frame = roll_up(self.cells, res, self.h3_resolution)
                self._cell_cache[res] = FeatureIndex.build(
                    frame, cell_polygons(frame["h3"]), "h3", members=self.members
                )
            return self._cell_cache[res]

    def collection(
        self,
        collection_id: str,
        *,
        resolution: int | None = None,
        indicator: str = "fibre",
    ) -> FeatureIndex:
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
    try:
        cells = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from None
    for col in CELL_COLUMNS:
        if col not in cells.columns:
            raise MissingColumn(f"{path}: column '{col}' is missing")
    if not cells_are_valid(cells["h3"]):
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
