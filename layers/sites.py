"""Mobile layers predicted from operators' sector lists (``model = "cost231-hata"``).

The sector file is a CSV or Parquet table with WGS84 ``lon``/``lat`` columns, or a point
vector file (its own CRS honoured), one row per sector, with the columns DESIGN.md
names: ``height_m``, ``frequency_mhz``, ``rs_eirp_dbm`` and optional ``azimuth_deg``
(empty = omnidirectional) and ``beamwidth_deg`` (empty = 65). Every value is checked
before anything is predicted; a bad one is a one-line error naming the file, the
column and the row.

Ranges. Refused outside: ``height_m`` 1-300 m, ``frequency_mhz`` 150-2000 MHz,
``rs_eirp_dbm`` -20 to 60 dBm, ``azimuth_deg`` 0-360, ``beamwidth_deg`` (0, 360].
COST-231 Hata itself is fitted for antenna heights of 30-200 m and for 1500-2000 MHz
(Okumura-Hata covers 150-1500 MHz with other constants). DESIGN.md gives one formula,
so it is used as written for every accepted value; sectors outside the model's own
range are predicted all the same and the layer warns once (``GeodxWarning``) with
their number and the first row, so the extrapolation is visible in the run's output.

Positions are moved to the region's UTM zone (``metric_crs``), where distance and
bearing are measured (grid north), and :func:`geodx.propagation.predict_rsrp` does
the rest.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from geodx.errors import (
    CRSError,
    GeodxError,
    GeodxWarning,
    GeometryError,
    InputFileError,
    MissingColumn,
    first_line,
)
from geodx.formats import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    VECTOR_DRIVERS,
    check_feature_count,
    check_file_size,
    refuse_suffix,
)
from geodx.io import is_lonlat_table, read_vector
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import LayerSpec
from geodx.pathloss import (
    DEFAULT_BEAMWIDTH_DEG,
    Sectors,
)
from geodx.points import WGS84, HouseholdPoints
from geodx.propagation import (
    SectorIndex,
    index_sectors,
    predict_rsrp,
)
from geodx.sites_cap import answer_cap
from layers.base import LayerAnswer

REQUIRED = ("height_m", "frequency_mhz", "rs_eirp_dbm")
OPTIONAL = ("azimuth_deg", "beamwidth_deg")
LONLAT = ("lon", "lat")
#: Sector indexes a layer keeps (one per floor asked for).
_INDEXES_KEPT = 4


@dataclass(frozen=True)
class Bounds:
    """An accepted range; ``open_low`` excludes the lower bound."""

    low: float
    high: float
    unit: str
    open_low: bool = False

    def accepts(self, values: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Whether each value lies in the range (NaN never does)."""
        above = values > self.low if self.open_low else values >= self.low
        return np.asarray(above & (values <= self.high))

    def __str__(self) -> str:
        bracket = "(" if self.open_low else "["
        return f"{bracket}{self.low:g}, {self.high:g}] {self.unit}"


RANGES = {
    "lon": Bounds(-180.0, 180.0, "degrees (WGS84)"),
    "lat": Bounds(-90.0, 90.0, "degrees (WGS84)"),
    "height_m": Bounds(1.0, 300.0, "m"),
    "frequency_mhz": Bounds(150.0, 2000.0, "MHz"),
    "rs_eirp_dbm": Bounds(-20.0, 60.0, "dBm"),
    "azimuth_deg": Bounds(0.0, 360.0, "degrees"),
    "beamwidth_deg": Bounds(0.0, 360.0, "degrees", open_low=True),
}
# Where COST-231 Hata was fitted; outside, the formula is used as written, with a warning.
MODEL_VALIDITY = {
    "height_m": Bounds(30.0, 200.0, "m"),
    "frequency_mhz": Bounds(1500.0, 2000.0, "MHz"),
}


@dataclass
class _Columns:
    """Numbers per column (NaN where empty) and the raw text to quote in errors."""

    values: dict[str, NDArray[np.float64]]
    raw: dict[str, pd.Series]
    row_word: str  # "data row" for tables, "row" for vector files
    has_lonlat: bool  # tables; a point file's positions are its geometries


def read_sectors(
    spec: LayerSpec, *, metric_crs: CRS, limits: Limits = DEFAULT_LIMITS
) -> Sectors:
    """Read and check a layer's sector file; positions in ``metric_crs``.

    Raises
    ------
    UnsupportedFormat, InputTooLarge, InputFileError, MissingColumn, CRSError,
    GeometryError
    """
    path = spec.path
    suffix = path.suffix.lower()
    accepted = CSV_SUFFIXES | PARQUET_SUFFIXES | set(VECTOR_DRIVERS)
    if suffix not in accepted:
        raise refuse_suffix(path, f"sectors of layer '{spec.id}'", accepted)
    check_file_size(path, limits, role="sectors")
    if is_lonlat_table(path, role="sectors"):
        columns = _read_table(path, limits)
        x, y, crs = columns.values["lon"], columns.values["lat"], WGS84
    else:
        columns, x, y, crs = _read_points(spec, limits)
    _check_values(path, columns)
    _warn_model_validity(spec, columns)
    transformer = Transformer.from_crs(crs, metric_crs, always_xy=True)
    mx, my = transformer.transform(x, y)
    mx, my = np.asarray(mx, dtype=np.float64), np.asarray(my, dtype=np.float64)
    bad = ~(np.isfinite(mx) & np.isfinite(my))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise CRSError(
            f"{path}: sector in {columns.row_word} {row + 1} cannot be placed in the "
            f"region's UTM zone ({metric_crs.name})"
        )
    v = columns.values
    width = v["beamwidth_deg"]
    return Sectors(
        x=mx,
        y=my,
        height_m=v["height_m"],
        frequency_mhz=v["frequency_mhz"],
        rs_eirp_dbm=v["rs_eirp_dbm"],
        azimuth_deg=v["azimuth_deg"],
        beamwidth_deg=np.where(np.isnan(width), DEFAULT_BEAMWIDTH_DEG, width),
    )


def _require(path: Path, names: list[str], wanted: tuple[str, ...]) -> None:
    for column in wanted:
        if column not in names:
            found = ", ".join(n for n in names if n != "geometry")
            raise MissingColumn(
                f"{path}: sector column '{column}' not found; columns are: {found}"
            )


def _read_table(path: Path, limits: Limits) -> _Columns:
    """CSV (read as text, converted here) or Parquet (numeric columns only)."""
    try:
        if path.suffix.lower() in CSV_SUFFIXES:
            table = _read_csv(path)
        else:
            table = _read_parquet(path, limits)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, GeodxError):
            raise
        raise InputFileError(
            f"{path}: cannot read sectors: {first_line(exc)}"
        ) from None
    check_feature_count(path, table.num_rows, limits, role="sectors")
    series = {n: table.column(n).to_pandas() for n in table.column_names}
    return _columns(series, "data row", has_lonlat=True)


def _read_csv(path: Path) -> pa.Table:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    _require(path, header, LONLAT + REQUIRED)
    wanted = [c for c in LONLAT + REQUIRED + OPTIONAL if c in header]
    options = pacsv.ConvertOptions(
        include_columns=wanted, column_types=dict.fromkeys(wanted, pa.string())
    )
    return pacsv.read_csv(path, convert_options=options)


def _read_parquet(path: Path, limits: Limits) -> pa.Table:
    meta = pq.read_metadata(path)
    check_feature_count(path, meta.num_rows, limits, role="sectors")
    schema = meta.schema.to_arrow_schema()
    _require(path, schema.names, LONLAT + REQUIRED)
    wanted = [c for c in LONLAT + REQUIRED + OPTIONAL if c in schema.names]
    for name in wanted:  # numbers only: decoded size is bounded by the row count
        kind = schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise InputFileError(
                f"{path}: sector column '{name}' is {kind}, not numeric"
            )
    return pq.read_table(path, columns=wanted)


def _read_points(
    spec: LayerSpec, limits: Limits
) -> tuple[_Columns, NDArray[np.float64], NDArray[np.float64], CRS]:
    frame = read_vector(
        spec.path, layer=spec.layer, role=f"sectors of layer '{spec.id}'", limits=limits
    )
    _require(spec.path, [str(c) for c in frame.columns], REQUIRED)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    bad = (types != 0) | shapely.is_empty(geoms)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise GeometryError(
            f"{spec.path}: sectors must be points, one per row; row {row + 1} is not"
        )
    coords = shapely.get_coordinates(geoms)
    present = [c for c in REQUIRED + OPTIONAL if c in frame.columns]
    columns = _columns({c: frame[c] for c in present}, "row", has_lonlat=False)
    return columns, coords[:, 0].copy(), coords[:, 1].copy(), CRS(frame.crs)


def _columns(
    series: dict[str, pd.Series], row_word: str, *, has_lonlat: bool
) -> _Columns:
    n = len(next(iter(series.values()))) if series else 0
    values, raw = {}, {}
    for name in LONLAT + REQUIRED + OPTIONAL:
        column = series.get(name)
        if column is None:
            column = pd.Series([None] * n, dtype=object)
        raw[name] = column.reset_index(drop=True)
        numbers = pd.to_numeric(raw[name], errors="coerce")
        values[name] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return _Columns(values, raw, row_word, has_lonlat)


def _is_empty(raw: pd.Series) -> NDArray[np.bool_]:
    text = raw.astype("string").str.strip()
    return np.asarray(raw.isna() | (text == "").fillna(True), dtype=bool)


def _check_values(path: Path, columns: _Columns) -> None:
    """Every required value present and in range; optional ones empty or in range."""
    for name, bounds in RANGES.items():
        values, raw = columns.values[name], columns.raw[name]
        if name in LONLAT and not columns.has_lonlat:
            continue
        empty = _is_empty(raw)
        bad = ~bounds.accepts(values)
        if name in OPTIONAL:
            bad &= ~empty
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            shown = "empty" if empty[row] else repr(str(raw.iloc[row]).strip())
            raise InputFileError(
                f"{path}: sector column '{name}' is {shown} in {columns.row_word} "
                f"{row + 1}; expected a number in {bounds}"
            )


def _warn_model_validity(spec: LayerSpec, columns: _Columns) -> None:
    for name, bounds in MODEL_VALIDITY.items():
        outside = ~bounds.accepts(columns.values[name])
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            warnings.warn(
                f"{spec.path}: layer '{spec.id}': {int(outside.sum())} sector(s) have "
                f"{name} outside COST-231 Hata's {bounds} (first {columns.row_word} "
                f"{row + 1}: {columns.values[name][row]:g}); predicted with the "
                "formula as written",
                GeodxWarning,
                stacklevel=4,
            )


class SiteLayer:
    """A household is covered when its predicted RSRP is ``>= min_rsrp_dbm``.

    Parameters
    ----------
    spec : LayerSpec
        The layer: ``environment``, ``min_rsrp_dbm``, optional ``indoor_loss_db``.
    sectors : Sectors
        Checked sectors in ``metric_crs``.
    metric_crs : pyproj.CRS
        The region's UTM zone, where distances and bearings are measured.
    """

    source = "sites"

    def __init__(self, spec: LayerSpec, sectors: Sectors, *, metric_crs: CRS) -> None:
        if spec.environment is None:
            raise ValueError(f"layer '{spec.id}' has no environment")
        self.spec, self.sectors, self.metric_crs = spec, sectors, metric_crs
        self.environment: str = spec.environment
        # The sectors indexed per floor (a run asks for one or two floors, once a
        # partition); two threads racing on a floor only build its index twice.
        self._indexes: dict[float, SectorIndex] = {}

    @classmethod
    def open(
        cls, spec: LayerSpec, *, metric_crs: CRS, limits: Limits = DEFAULT_LIMITS
    ) -> SiteLayer:
        """Read the layer's sector file (see :func:`read_sectors`)."""
        sectors = read_sectors(spec, metric_crs=metric_crs, limits=limits)
        return cls(spec, sectors, metric_crs=metric_crs)

    def rsrp(
        self,
        households: HouseholdPoints,
        *,
        margin_db: float = 0.0,
        cap_dbm: float = np.inf,
    ) -> NDArray[np.float64]:
        """Predicted RSRP (dBm), exact wherever it is ``>= min_rsrp_dbm - margin_db``.

        Where the best RSRP is at least ``cap_dbm``, the value is at least the cap
        and at most the best (:func:`geodx.propagation.predict_rsrp`).
        """
        x, y = households.xy(self.metric_crs)
        return self.rsrp_at(
            x, y, floor_dbm=self.spec.min_rsrp_dbm - max(margin_db, 0.0),
            cap_dbm=cap_dbm,
        )  # fmt: skip

    def rsrp_at(
        self,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        *,
        floor_dbm: float,
        cap_dbm: float = np.inf,
    ) -> NDArray[np.float64]:
        """Predicted RSRP (dBm) at points ``x, y`` of ``metric_crs``, exact ``>= floor_dbm``.

        The one evaluation both the households and the map's prediction raster use.
        """
        index = self._indexes.get(floor_dbm)
        if index is None:
            index = index_sectors(
                self.sectors, environment=self.environment, floor_dbm=floor_dbm
            )
            if len(self._indexes) >= _INDEXES_KEPT:
                self._indexes.clear()
            self._indexes[floor_dbm] = index
        return predict_rsrp(
            x, y, self.sectors, environment=self.environment, floor_dbm=floor_dbm,
            cap_dbm=cap_dbm, index=index,
        )  # fmt: skip

    def answer(
        self, households: HouseholdPoints, deltas_db: Sequence[float]
    ) -> LayerAnswer:
        """Covered, covered with every RSRP ``delta`` dB higher, and indoors.

        RSRP is predicted once, exact down to the lowest shifted threshold and up to
        :func:`answer_cap` (above it every answer is yes whatever the exact value);
        each answer is one comparison (``rsrp + delta >= min_rsrp_dbm``,
        ``rsrp - indoor_loss_db >= min_rsrp_dbm``).
        """
        threshold, loss = self.spec.min_rsrp_dbm, self.spec.indoor_loss_db
        rsrp = self.rsrp(
            households, margin_db=max(deltas_db, default=0.0),
            cap_dbm=answer_cap(threshold, deltas_db, loss),
        )  # fmt: skip
        return LayerAnswer(
            covered=np.asarray(rsrp >= threshold),
            shifted={d: np.asarray(rsrp + d >= threshold) for d in deltas_db},
            indoor=None if loss is None else np.asarray(rsrp - loss >= threshold),
        )

    def covers(self, households: HouseholdPoints) -> NDArray[np.bool_]:
        """Return whether each household's predicted RSRP reaches the threshold."""
        return np.asarray(self.rsrp(households) >= self.spec.min_rsrp_dbm)

    def covers_indoor(self, households: HouseholdPoints) -> NDArray[np.bool_] | None:
        """``RSRP - indoor_loss_db >= min_rsrp_dbm``; ``None`` without a loss."""
        loss = self.spec.indoor_loss_db
        if loss is None:
            return None
        rsrp = self.rsrp(households)
        return np.asarray(rsrp - loss >= self.spec.min_rsrp_dbm)
