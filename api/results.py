"""The region's results folder (written by ``geodx run``), loaded once at startup.

The service reads only these files; it never recomputes coverage. Everything else in
``api/`` asks this module for communes, districts, cells and gaps.
"""

from __future__ import annotations

import json
import math
import threading
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import shapely
from shapely.geometry import shape

from api.cells import cell_polygons, cell_totals, cells_are_valid, roll_up
from api.errors import NotFound
from api.features import FeatureIndex
from geodx.errors import InputFileError, MissingColumn, UnknownCommune

COMMUNE_COLUMNS = (
    "commune_code",
    "commune_name",
    "district_code",
    "district_name",
    "households",
    "fibre_households",
    "fibre_pct",
    "fibre_target_met",
    "fibre_gap_households",
    "mobile_households",
    "mobile_pct",
    "mobile_5g_households",
    "mobile_5g_pct",
    "mobile_covered",
)
CELL_COLUMNS = (
    "h3",
    "commune_code",
    "households",
    "fibre_households",
    "mobile_households",
    "mobile_5g_households",
)
GAP_INDICATORS = ("fibre", "mobile")
DEFAULT_TARGETS = {
    "fibre_household_pct": 90.0,
    "mobile_commune_pct": 100.0,
    "mobile_commune_household_pct": 95.0,
}


def fold(text: str) -> str:
    """Lower-case ``text`` without diacritics: ``"Hòa Phú"`` -> ``"hoa phu"``, đ -> d."""
    text = text.replace("đ", "d").replace("Đ", "D")
    bare = "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
    )
    return " ".join(bare.casefold().split())


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
    """The tables of one computed region, with lookups used by the routes."""

    folder: Path
    summary: dict[str, Any]
    communes: pd.DataFrame
    commune_geoms: np.ndarray
    districts: pd.DataFrame
    district_geoms: np.ndarray
    cells: pd.DataFrame
    _cell_cache: dict[int, FeatureIndex] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.communes_index = FeatureIndex.build(
            self.communes, self.commune_geoms, "commune_code"
        )
        self.districts_index = FeatureIndex.build(
            self.districts, self.district_geoms, "district_code"
        )
        self.cell_totals = cell_totals(self.cells)
        self.gaps_tables = {ind: self._gaps(ind) for ind in GAP_INDICATORS}
        self.gaps_index: dict[str, FeatureIndex] = {}
        for ind, table in self.gaps_tables.items():
            geoms = self.commune_geoms[table["_pos"].to_numpy(dtype=int)]
            self.gaps_index[ind] = FeatureIndex.build(
                table.drop(columns="_pos"), geoms, "commune_code"
            )
        self._folded = [fold(str(n)) for n in self.communes["commune_name"]]
        self._code_pos = {
            str(c): i for i, c in enumerate(self.communes["commune_code"])
        }
        self.cells_index()  # the finest level, built now rather than on a first request

    @property
    def name(self) -> str:
        """The region's name, as written in the manifest."""
        return str(self.summary.get("region") or "")

    @property
    def synthetic(self) -> bool:
        """True when the region's inputs are synthetic (generated) data."""
        return bool(self.summary.get("synthetic", False))

    @property
    def h3_resolution(self) -> int:
        """Resolution of the cell table (from its cells; else from the summary)."""
        if len(self.cell_totals):
            return int(self.cell_totals["resolution"].to_numpy()[0])
        res = self.summary.get("h3_resolution")
        return res if isinstance(res, int) and 0 <= res <= 15 else 9

    @property
    def targets(self) -> dict[str, float]:
        """Targets in percent, with the documented defaults for missing keys."""
        given = self.summary.get("targets") or {}
        return {
            k: float(given.get(k, v)) if isinstance(given.get(k, v), int | float) else v
            for k, v in DEFAULT_TARGETS.items()
        }

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
        row = self.communes.iloc[pos].to_dict()
        return {
            str(k): (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()
        }

    def commune_geometry(self, code: str) -> shapely.Geometry:
        """The polygon of one commune (raises UnknownCommune)."""
        self.commune(code)
        return self.commune_geoms[self._code_pos[code]]

    def search(self, query: str) -> pd.DataFrame:
        """Communes whose name or code contains ``query``, ignoring case and diacritics."""
        needle = fold(query)
        hits = [
            i
            for i, name in enumerate(self._folded)
            if needle in name
            or needle in fold(str(self.communes["commune_code"].iat[i]))
        ]
        hits.sort(key=lambda i: (not self._folded[i].endswith(needle), self._folded[i]))
        return self.communes.iloc[hits]

    def _gaps(self, indicator: str) -> pd.DataFrame:
        """Communes below the target for ``indicator``, largest gap first."""
        c = self.communes
        households = c["households"].fillna(0)
        if indicator == "fibre":
            target = self.targets["fibre_household_pct"]
            covered, below = c["fibre_households"], c["fibre_target_met"]
            gap = c["fibre_gap_households"]
        else:
            target = self.targets["mobile_commune_household_pct"]
            covered, below = c["mobile_households"], c["mobile_covered"]
            gap = pd.Series(
                [
                    _gap(target, h, m)
                    for h, m in zip(households, covered.fillna(0), strict=True)
                ],
                index=c.index,
            )
        mask = (
            np.array([b is False or b is np.False_ for b in below])
            & (households > 0).to_numpy()
        )
        table = pd.DataFrame(
            {
                "commune_code": c["commune_code"],
                "commune_name": c["commune_name"],
                "district_code": c["district_code"],
                "district_name": c["district_name"],
                "indicator": indicator,
                "households": households,
                "covered_households": covered,
                "pct": c[f"{indicator}_pct"],
                "target_pct": target,
                "gap_households": gap,
                "_pos": np.arange(len(c)),
            }
        )[mask]
        table = table.sort_values(
            ["gap_households", "commune_code"], ascending=[False, True], kind="stable"
        )
        return table.reset_index(drop=True)

    def gaps(self, indicator: str) -> pd.DataFrame:
        """The gap table for ``fibre`` or ``mobile`` (without geometry)."""
        return self.gaps_tables[indicator].drop(columns="_pos")

    def cells_index(self, resolution: int | None = None) -> FeatureIndex:
        """The cells collection at ``resolution`` (default: the table's), built once."""
        res = self.h3_resolution if resolution is None else resolution
        with self._lock:
            if res not in self._cell_cache:
                frame = roll_up(self.cells, res, self.h3_resolution)
                self._cell_cache[res] = FeatureIndex.build(
                    frame, cell_polygons(frame["h3"]), "h3"
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


def _gap(target_pct: float, households: Any, covered: Any) -> int:
    """``max(0, ceil(target% x households) - covered)``, exact."""
    need = math.ceil(Fraction(str(target_pct)) * Fraction(str(households)) / 100)
    return max(0, need - int(covered))


def load_results(folder: Path) -> RegionResults:
    """Read a results folder written by ``geodx run``.

    Raises
    ------
    InputFileError
        A file is missing or unreadable.
    MissingColumn
        A required property or column is missing.
    """
    summary = _read_json(folder / "summary.json")
    if not isinstance(summary, dict):
        raise InputFileError(f"{folder / 'summary.json'}: expected a JSON object")
    communes, commune_geoms = read_features(
        folder / "communes.geojson", COMMUNE_COLUMNS
    )
    districts, district_geoms = read_features(
        folder / "districts.geojson", ("district_code",)
    )
    path = folder / "cells.parquet"
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
        folder, summary, communes, commune_geoms, districts, district_geoms, cells
    )
