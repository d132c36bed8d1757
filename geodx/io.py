"""File access of the core: reading inputs with clear errors, writing output files."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely
from pyproj import CRS

from geodx.errors import (
    CRSError,
    GeodxError,
    GeodxWarning,
    GeometryError,
    InputFileError,
    UnsupportedFormat,
    first_line,
)
from geodx.formats import (
    CSV_SUFFIXES,
    MULTI_LAYER_DRIVERS,
    PARQUET_SUFFIXES,
    VECTOR_DRIVERS,
    check_content,
    check_feature_count,
    check_file_size,
    check_geometries,
    check_parquet_decoded,
    geometry_columns,
    refuse_suffix,
    vector_driver,
)
from geodx.gdal import lock_down
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import (
    CommunesSpec,
    HouseholdsSpec,
)
from geodx.points import HouseholdPoints
from geodx.tables import (
    check_projected_lonlat,
    read_lonlat_table,
    require_columns,
    weights_from_frame,
)

POLYGONAL = {"Polygon", "MultiPolygon"}
_READ_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pa.ArrowInvalid,
    OSError,
    ValueError,
)

# GDAL's network access is off before any input is opened (issue 6, B4).
lock_down()


def read_vector(
    path: Path,
    *,
    layer: str | None = None,
    columns: list[str] | None = None,
    role: str,
    limits: Limits = DEFAULT_LIMITS,
) -> gpd.GeoDataFrame:
    """Read a vector file with the one driver its extension names, insisting on a CRS.

    GeoPackage, GeoJSON, ESRI Shapefile and FlatGeobuf through GDAL, (Geo)Parquet
    through pyarrow; see :mod:`geodx.formats`. Sizes are checked against ``limits``
    before reading, vertices (and their finiteness) after.

    Raises
    ------
    UnsupportedFormat, InputTooLarge, InputFileError, CRSError, GeometryError
    """
    driver = vector_driver(path, role=role)
    check_file_size(path, limits, role=role)
    check_content(path, driver, role=role)
    try:
        # NaN coordinates raise numpy's "invalid value" flag in shapely's from_wkb;
        # check_geometries refuses them below. (errstate is per thread; layers are
        # read in a thread pool.)
        with np.errstate(invalid="ignore"):
            if driver == "Parquet":
                frame = _read_geoparquet(path, columns, limits=limits, role=role)
            else:
                frame = _read_ogr(
                    path, driver, layer, columns, limits=limits, role=role
                )
    except GeodxError:
        raise
    except _READ_ERRORS as exc:
        raise InputFileError(f"{path}: cannot read {role}: {first_line(exc)}") from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise InputFileError(f"{path}: {role} file has no geometry column")
    if frame.crs is None:
        raise CRSError(
            f"{path}: {role} file has no CRS; set one (for example EPSG:4326)"
        )
    check_feature_count(path, len(frame), limits, role=role)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    check_geometries(geoms, path=path, role=role, limits=limits)
    return frame


def _read_geoparquet(
    path: Path, columns: list[str] | None, *, limits: Limits, role: str
) -> gpd.GeoDataFrame:
    meta = pq.read_metadata(path)
    check_feature_count(path, meta.num_rows, limits, role=role)
    check_parquet_decoded(path, columns, limits, role=role)
    if columns is not None:
        schema = meta.schema.to_arrow_schema()
        columns = [*columns, *sorted(geometry_columns(schema) & set(schema.names))]
    return gpd.read_parquet(path, columns=columns)


def _read_ogr(
    path: Path,
    driver: str,
    layer: str | None,
    columns: list[str] | None,
    *,
    limits: Limits,
    role: str,
) -> gpd.GeoDataFrame:
    layer = _pick_layer(path, driver, layer, role=role)
    info = pyogrio.read_info(path, layer=layer)
    if info["driver"] != driver:
        raise UnsupportedFormat(
            f"{path}: {role}: GDAL reads it as {info['driver']}, not {driver} "
            "as its extension says"
        )
    check_feature_count(path, int(info["features"]), limits, role=role)
    frame: gpd.GeoDataFrame = gpd.read_file(
        path, layer=layer, columns=columns, engine="pyogrio", use_arrow=True
    )
    return frame


def _pick_layer(path: Path, driver: str, layer: str | None, *, role: str) -> str | None:
    """The layer to read: the one named, or the file's only one; never a guess."""
    if driver not in MULTI_LAYER_DRIVERS:
        return layer
    found = pyogrio.list_layers(path)
    if layer is not None and layer in {str(name) for name, _ in found}:
        return layer
    # Attribute tables (no geometry type) are never taken for the layer.
    names = [str(name) for name, kind in found if kind is not None]
    if layer is None and len(names) == 1:
        return names[0]
    listed = ", ".join(repr(n) for n in names) or "none"
    key = _layer_key(role)
    if layer is None:
        raise InputFileError(
            f"{path}: {role}: the file holds {len(names)} layers ({listed}); "
            f"set {key} to the one to read"
        )
    raise InputFileError(
        f"{path}: {role}: no layer {layer!r} ({key}); layers are: {listed}"
    )


def _layer_key(role: str) -> str:
    if role in {"communes", "households"}:
        return f"[{role}] layer"
    if role == "households spread":
        return "[households] layer"
    return f"'layer' of the [[layers]] entry ({role})"


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


def read_communes(
    spec: CommunesSpec, *, limits: Limits = DEFAULT_LIMITS
) -> gpd.GeoDataFrame:
    """Read the communes: code, name, district code and name, polygon, in the file's CRS.

    Returns
    -------
    GeoDataFrame
        Columns ``commune_code, commune_name, district_code, district_name, geometry``,
        codes as strings, sorted by ``commune_code``.
    """
    frame = read_vector(spec.path, layer=spec.layer, role="communes", limits=limits)
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


def read_households(
    spec: HouseholdsSpec, *, limits: Limits = DEFAULT_LIMITS
) -> HouseholdPoints:
    """Read household points from a lon/lat table (CSV, Parquet) or a point vector file.

    Every position must be a finite point that maps to a WGS84 lon/lat in range, and
    every weight at most ``limits.max_household_weight``.

    Raises
    ------
    UnsupportedFormat, InputTooLarge, InputFileError, MissingColumn, GeometryError,
    CRSError
    """
    path = spec.path
    suffix = path.suffix.lower()
    accepted = CSV_SUFFIXES | PARQUET_SUFFIXES | set(VECTOR_DRIVERS)
    if suffix not in accepted:
        raise refuse_suffix(path, "households", accepted)
    if is_lonlat_table(path, role="households"):
        return read_lonlat_table(spec, limits=limits)
    frame = read_vector(path, layer=spec.layer, role="households", limits=limits)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    _check_points(geoms, path=path)
    coords = shapely.get_coordinates(geoms)
    weight = weights_from_frame(frame, spec, limits=limits)
    points = HouseholdPoints(
        coords[:, 0].copy(), coords[:, 1].copy(), weight, CRS(frame.crs)
    )
    check_projected_lonlat(points, path=path)
    return points


def _check_points(geoms: np.ndarray, *, path: Path) -> None:
    """One non-empty point per row: anything else would shift the rows apart."""
    types = shapely.get_type_id(geoms)
    bad = (types != 0) | shapely.is_empty(geoms)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        found = (
            "no geometry"
            if types[row] < 0
            else "an empty point"
            if types[row] == 0
            else f"a {geoms[row].geom_type}"
        )
        raise GeometryError(
            f"{path}: households must be points, one per row; row {row + 1} has {found}"
        )


def is_lonlat_table(path: Path, *, role: str) -> bool:
    """Whether a point input is a lon/lat table (CSV, plain Parquet), not a vector file.

    A Parquet file is a vector file when it carries GeoParquet's ``geo`` metadata.

    Raises
    ------
    UnsupportedFormat, InputFileError
        The Parquet file is not Parquet, or cannot be read.
    """
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return True
    if suffix not in PARQUET_SUFFIXES:
        return False
    check_content(path, "Parquet", role=role)
    try:
        return b"geo" not in (pq.read_schema(path).metadata or {})
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{path}: cannot read {role}: {first_line(exc)}") from None


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
