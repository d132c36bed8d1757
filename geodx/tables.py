"""Household tables (CSV or Parquet with lon/lat columns), and household checks.

Every household position and weight passes these checks, whatever file it came from.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pyproj import Transformer

from geodx.errors import CRSError, InputFileError, InputTooLarge, MissingColumn
from geodx.formats import check_content, check_feature_count, check_file_size
from geodx.limits import Limits
from geodx.manifest_specs import HouseholdsSpec
from geodx.points import WGS84, HouseholdPoints


def require_columns(
    frame: pd.DataFrame, names: dict[str, str], *, path: Path, section: str
) -> None:
    """Raise :class:`MissingColumn` naming the manifest key when a column is absent."""
    for key, column in names.items():
        if column not in frame.columns:
            available = ", ".join(str(c) for c in frame.columns if c != "geometry")
            raise MissingColumn(
                f"{path}: column '{column}' ([{section}] {key}) not found; columns are: {available}"
            )


def read_lonlat_table(spec: HouseholdsSpec, *, limits: Limits) -> HouseholdPoints:
    """Read households from a CSV or Parquet table of WGS84 lon/lat columns.

    Raises
    ------
    InputFileError, InputTooLarge, MissingColumn
    """
    path = spec.path
    check_file_size(path, limits, role="households")
    wanted = [spec.lon, spec.lat] + ([spec.weight] if spec.weight else [])
    try:
        if path.suffix.lower() == ".csv":
            names = _csv_header(path)
        else:
            check_content(path, "Parquet", role="households")
            meta = pq.read_metadata(path)
            check_feature_count(path, meta.num_rows, limits, role="households")
            names = meta.schema.to_arrow_schema().names
        require_columns(
            pd.DataFrame(columns=names),
            _household_keys(spec),
            path=path,
            section="households",
        )
        if path.suffix.lower() == ".csv":
            options = pacsv.ConvertOptions(include_columns=wanted)
            table = pacsv.read_csv(path, convert_options=options)
        else:
            _require_numeric(meta.schema.to_arrow_schema(), wanted, path=path)
            table = pq.read_table(path, columns=wanted)
    except (pa.ArrowInvalid, OSError) as exc:
        if isinstance(exc, InputFileError):
            raise
        first = str(exc).strip().splitlines()[0]
        raise InputFileError(f"{path}: cannot read households: {first}") from None
    check_feature_count(path, table.num_rows, limits, role="households")
    lon = _numeric(table, spec.lon, spec)
    lat = _numeric(table, spec.lat, spec)
    check_lonlat(lon, lat, spec)
    weight = _numeric(table, spec.weight, spec) if spec.weight else np.ones(len(lon))
    check_weights(weight, spec, limits=limits)
    return HouseholdPoints(lon, lat, weight, WGS84)


def _require_numeric(schema: pa.Schema, columns: list[str], *, path: Path) -> None:
    """Numbers only: their decoded size is 8 bytes a row, whatever the compression."""
    for name in columns:
        kind = schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise InputFileError(
                f"{path}: column '{name}' is {kind}, not numeric; households need "
                "numbers for lon, lat and weight"
            )


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh), [])
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: households table is not UTF-8 text") from None


def _household_keys(spec: HouseholdsSpec) -> dict[str, str]:
    keys = {"lon": spec.lon, "lat": spec.lat}
    if spec.weight:
        keys["weight"] = spec.weight
    return keys


def _numeric(table: pa.Table, column: str, spec: HouseholdsSpec) -> np.ndarray:
    col = table.column(column)
    try:
        values: np.ndarray = np.asarray(col.to_numpy(), dtype=np.float64)
    except (ValueError, TypeError, pa.ArrowInvalid):
        raise InputFileError(f"{spec.path}: column '{column}' is not numeric") from None
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputFileError(
            f"{spec.path}: column '{column}' has {int(bad.sum())} empty, non-numeric "
            f"or infinite value(s), first in data row {row + 1}"
        )
    return values


def check_lonlat(lon: np.ndarray, lat: np.ndarray, spec: HouseholdsSpec) -> None:
    """Refuse a longitude outside [-180, 180] or a latitude outside [-90, 90].

    Raises
    ------
    CRSError
        Naming the column, the value and the data row.
    """
    for values, key, column, bound in (
        (lon, "lon", spec.lon, 180.0),
        (lat, "lat", spec.lat, 90.0),
    ):
        bad = ~(np.abs(values) <= bound)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise CRSError(
                f"{spec.path}: column '{column}' ([households] {key}) is "
                f"{values[row]:g} in data row {row + 1}; expected -{bound:g} to "
                f"{bound:g} (WGS84 degrees)"
            )


def weights_from_frame(
    frame: pd.DataFrame, spec: HouseholdsSpec, *, limits: Limits
) -> np.ndarray:
    """The weight column of a point file (1 per row without one), checked."""
    if not spec.weight:
        return np.ones(len(frame))
    require_columns(
        frame, {"weight": spec.weight}, path=spec.path, section="households"
    )
    numbers = pd.to_numeric(frame[spec.weight], errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputFileError(
            f"{spec.path}: column '{spec.weight}' ([households] weight) has "
            f"{int(bad.sum())} empty, non-numeric or infinite value(s), first in "
            f"row {row + 1}"
        )
    check_weights(values, spec, limits=limits)
    return values


def check_weights(values: np.ndarray, spec: HouseholdsSpec, *, limits: Limits) -> None:
    """Refuse negative weights, weights above the limit, and a non-finite total.

    Raises
    ------
    InputFileError, InputTooLarge
    """
    where = f"{spec.path}: column '{spec.weight}' ([households] weight)"
    if (values < 0).any():
        row = int(np.flatnonzero(values < 0)[0])
        raise InputFileError(f"{where} is negative in data row {row + 1}")
    check_weight_cap(values, where, per="point", limits=limits)
    if not np.isfinite(values.sum()):
        raise InputTooLarge(f"{where}: the weights' total is not a finite number")


def check_weight_cap(
    values: np.ndarray, where: str, *, per: str, limits: Limits
) -> None:
    """Refuse a household weight or count above ``limits.max_household_weight``.

    Raises
    ------
    InputTooLarge
        Naming ``where``, the first value over the limit, its data row, and the
        limit in households per ``per`` (a point, a commune).
    """
    cap = limits.max_household_weight
    if (values > cap).any():
        row = int(np.flatnonzero(values > cap)[0])
        raise InputTooLarge(
            f"{where} is {values[row]:g} in data row {row + 1}; the limit is {cap:,} "
            f"households per {per} (GEODX_MAX_HOUSEHOLD_WEIGHT)"
        )


def check_projected_lonlat(points: HouseholdPoints, *, path: Path) -> None:
    """Refuse points that do not map to a WGS84 lon/lat in range and back again.

    Far outside a projection's domain PROJ answers infinity, or worse a finite but
    wrong position (UTM y = 1e300 comes out as lat 0.3); the round trip back to the
    file's CRS exposes both.

    Raises
    ------
    CRSError
        Naming the first row that does not.
    """
    lng, lat = points.lng_lat
    bad = ~((np.abs(lng) <= 180.0) & (np.abs(lat) <= 90.0))
    if not points.crs.is_geographic and not bad.all():
        transformer = Transformer.from_crs(WGS84, points.crs, always_xy=True)
        with np.errstate(invalid="ignore"):
            x, y = transformer.transform(lng, lat)
        back = np.isclose(x, points.x, rtol=1e-7, atol=1.0) & np.isclose(
            y, points.y, rtol=1e-7, atol=1.0
        )
        bad |= ~back
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise CRSError(
            f"{path}: households row {row + 1} at ({points.x[row]:g}, "
            f"{points.y[row]:g}) is outside what its CRS ({points.crs.name}) can "
            "place on the earth; check the coordinates and the file's CRS"
        )
