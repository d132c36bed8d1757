"""File access of the core: reading inputs with clear errors, writing output files."""

from __future__ import annotations

import csv
import hashlib
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyogrio
import shapely
from pyproj import CRS

from geodx.errors import (
    CRSError,
    GeodxWarning,
    GeometryError,
    InputFileError,
    MissingColumn,
)
from geodx.manifest import CommunesSpec, HouseholdsSpec
from geodx.points import WGS84, HouseholdPoints

TABLE_SUFFIXES = {".csv", ".txt", ".parquet", ".pq"}
POLYGONAL = {"Polygon", "MultiPolygon"}


def read_vector(
    path: Path, *, layer: str | None = None, columns: list[str] | None = None, role: str
) -> gpd.GeoDataFrame:
    """Read any GDAL vector file (or GeoParquet), insisting on a CRS.

    Raises
    ------
    InputFileError, CRSError
    """
    try:
        if path.suffix.lower() in {".parquet", ".pq", ".geoparquet"}:
            frame = gpd.read_parquet(
                path, columns=None if columns is None else [*columns, "geometry"]
            )
        else:
            frame = gpd.read_file(
                path, layer=layer, columns=columns, engine="pyogrio", use_arrow=True
            )
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pa.ArrowInvalid,
        OSError,
        ValueError,
    ) as exc:
        first = (
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        raise InputFileError(f"{path}: cannot read {role}: {first}") from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise InputFileError(f"{path}: {role} file has no geometry column")
    if frame.crs is None:
        raise CRSError(
            f"{path}: {role} file has no CRS; set one (for example EPSG:4326)"
        )
    return frame


def repair_geometries(geoms: np.ndarray, *, path: Path, role: str) -> np.ndarray:
    """Repair invalid polygons with ``make_valid`` and warn how many were repaired."""
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    count = int(invalid.sum())
    if count:
        fixed = shapely.make_valid(
            geoms[invalid], method="structure", keep_collapsed=False
        )
        geoms = geoms.copy()
        geoms[invalid] = fixed
        warnings.warn(
            f"{path}: {count} invalid {role} geometr{'y' if count == 1 else 'ies'} "
            "repaired with make_valid (structure method)",
            GeodxWarning,
            stacklevel=2,
        )
    return geoms


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


def read_communes(spec: CommunesSpec) -> gpd.GeoDataFrame:
    """Read the communes: code, name, district code and name, polygon, in the file's CRS.

    Returns
    -------
    GeoDataFrame
        Columns ``commune_code, commune_name, district_code, district_name, geometry``,
        codes as strings, sorted by ``commune_code``.
    """
    frame = read_vector(spec.path, layer=spec.layer, role="communes")
    require_columns(
        frame,
        {"code": spec.code, "name": spec.name},
        path=spec.path,
        section="communes",
    )
    districts = {
        "district_code": spec.district_code,
        "district_name": spec.district_name,
    }
    if spec.districts_required:
        require_columns(frame, districts, path=spec.path, section="communes")
    out = gpd.GeoDataFrame(
        {
            "commune_code": _codes(frame[spec.code], path=spec.path, column=spec.code),
            "commune_name": frame[spec.name].astype("string"),
            "district_code": _optional_codes(frame, spec.district_code),
            "district_name": _optional_text(frame, spec.district_name),
        },
        geometry=_polygons(frame, path=spec.path),
        crs=frame.crs,
    )
    dupes = out["commune_code"][out["commune_code"].duplicated()].unique()
    if len(dupes):
        raise InputFileError(
            f"{spec.path}: commune code '{dupes[0]}' ([communes] code = '{spec.code}') "
            f"appears more than once"
        )
    return out.sort_values("commune_code", kind="stable").reset_index(drop=True)


def _codes(values: pd.Series, *, path: Path, column: str) -> pd.Series:
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise InputFileError(f"{path}: column '{column}' is empty in row {row + 1}")
    return _as_text(values)


def _as_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    return values.astype("string")


def _optional_codes(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return _as_text(frame[column])


def _optional_text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame[column].astype("string")


def _polygons(frame: gpd.GeoDataFrame, *, path: Path) -> np.ndarray:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    bad = ~np.isin(types, (3, 6))  # Polygon, MultiPolygon
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        kind = "missing" if types[row] < 0 else shapely.get_type_id(geoms[row])
        name = "no geometry" if kind == "missing" else geoms[row].geom_type
        raise GeometryError(
            f"{path}: communes must be polygons or multipolygons; row {row + 1} has {name}"
        )
    return repair_geometries(geoms, path=path, role="commune")


def read_households(spec: HouseholdsSpec) -> HouseholdPoints:
    """Read household points from a lon/lat table (CSV, Parquet) or a point vector file.

    Raises
    ------
    InputFileError, MissingColumn, GeometryError, CRSError
    """
    suffix = spec.path.suffix.lower()
    if suffix in TABLE_SUFFIXES and not _is_geoparquet(spec.path):
        return _households_from_table(spec)
    frame = read_vector(spec.path, layer=spec.layer, role="households")
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if not np.all(shapely.get_type_id(geoms) == 0):
        raise GeometryError(f"{spec.path}: households must be points (one per row)")
    coords = shapely.get_coordinates(geoms)
    weight = _weights(frame, spec)
    return HouseholdPoints(
        coords[:, 0].copy(), coords[:, 1].copy(), weight, CRS(frame.crs)
    )


def _is_geoparquet(path: Path) -> bool:
    if path.suffix.lower() not in {".parquet", ".pq"}:
        return False
    try:
        return b"geo" in (pq.read_schema(path).metadata or {})
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{path}: cannot read households: {exc}") from None


def _households_from_table(spec: HouseholdsSpec) -> HouseholdPoints:
    wanted = [spec.lon, spec.lat] + ([spec.weight] if spec.weight else [])
    try:
        if spec.path.suffix.lower() in {".parquet", ".pq"}:
            names = pq.read_schema(spec.path).names
            require_columns(
                pd.DataFrame(columns=names),
                _household_keys(spec),
                path=spec.path,
                section="households",
            )
            table = pq.read_table(spec.path, columns=wanted)
        else:
            require_columns(
                pd.DataFrame(columns=_csv_header(spec.path)),
                _household_keys(spec),
                path=spec.path,
                section="households",
            )
            table = pacsv.read_csv(
                spec.path, convert_options=pacsv.ConvertOptions(include_columns=wanted)
            )
    except (pa.ArrowInvalid, OSError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputFileError(f"{spec.path}: cannot read households: {first}") from None
    lon = _numeric(table, spec.lon, spec)
    lat = _numeric(table, spec.lat, spec)
    weight = _numeric(table, spec.weight, spec) if spec.weight else np.ones(len(lon))
    _check_weights(weight, spec)
    return HouseholdPoints(lon, lat, weight, WGS84)


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
            f"{spec.path}: column '{column}' has {int(bad.sum())} empty or non-numeric "
            f"value(s), first in data row {row + 1}"
        )
    return values


def _weights(frame: pd.DataFrame, spec: HouseholdsSpec) -> np.ndarray:
    if not spec.weight:
        return np.ones(len(frame))
    require_columns(
        frame, {"weight": spec.weight}, path=spec.path, section="households"
    )
    values = pd.to_numeric(frame[spec.weight], errors="coerce").to_numpy(
        dtype=np.float64
    )
    if not np.isfinite(values).all():
        raise InputFileError(
            f"{spec.path}: column '{spec.weight}' has empty or non-numeric values"
        )
    _check_weights(values, spec)
    return values


def _check_weights(values: np.ndarray, spec: HouseholdsSpec) -> None:
    if (values < 0).any():
        row = int(np.flatnonzero(values < 0)[0])
        raise InputFileError(
            f"{spec.path}: column '{spec.weight}' ([households] weight) is negative in data row {row + 1}"
        )


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def sidecar_files(path: Path) -> list[Path]:
    """The other files of a shapefile (``.dbf``, ``.shx``, ``.prj``, ...); none otherwise."""
    if path.suffix.lower() != ".shp":
        return []
    return sorted(
        p for p in path.parent.glob(path.stem + ".*") if p.is_file() and p != path
    )


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (inside an atomic output folder)."""
    path.write_bytes(data)


def write_table(
    path: Path, table: pa.Table, *, metadata: dict[str, Any] | None = None
) -> None:
    """Write a Parquet table with zstd compression."""
    if metadata:
        table = table.replace_schema_metadata(
            {
                **(table.schema.metadata or {}),
                **{k: str(v) for k, v in metadata.items()},
            }
        )
    pq.write_table(table, path, compression="zstd")
