"""What geodx opens, and how much of it: one driver per extension, declared sizes first.

GDAL picks a driver from a file's content unless told otherwise, and some drivers
follow references (an OGR VRT opens any file it names). So a vector input is opened
only when its extension names a driver here, its first bytes are that format's own,
and GDAL, asked what it opened, names that same driver. Budgets (:mod:`geodx.limits`)
are checked on what a file declares before it is read, and on what it held after.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from geodx.errors import (
    GeometryError,
    InputFileError,
    InputTooLarge,
    UnsupportedFormat,
)
from geodx.limits import Limits

# Extension -> the one OGR driver that opens it.
VECTOR_DRIVERS = {
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "ESRI Shapefile",
    ".fgb": "FlatGeobuf",
}
# Read with pyarrow, never GDAL: GeoParquet (geometry column) or a lon/lat table.
PARQUET_SUFFIXES = {".parquet", ".geoparquet"}
CSV_SUFFIXES = {".csv"}
MULTI_LAYER_DRIVERS = {"GPKG"}

_SQLITE = b"SQLite format 3\x00"
_GPKG_IDS = {b"GPKG", b"GP10", b"GP11"}  # application_id at byte 68
_SHAPEFILE = b"\x00\x00\x27\x0a"  # file code 9994, big-endian
_FLATGEOBUF = b"fgb\x03"
_PARQUET = b"PAR1"
_UTF8_BOM = b"\xef\xbb\xbf"


def suffix_of(path: Path) -> str:
    """The lower-case extension, ``.shp.zip`` and ``.tar.gz`` style names included."""
    return (
        "".join(path.suffixes[-2:]).lower()
        if _is_archive(path)
        else path.suffix.lower()
    )


def _is_archive(path: Path) -> bool:
    return path.suffix.lower() in {".zip", ".gz", ".7z", ".rar", ".tar", ".tgz"}


def refuse_suffix(path: Path, role: str, accepted: set[str]) -> UnsupportedFormat:
    """The one-line refusal of a file whose extension geodx does not read."""
    names = ", ".join(sorted(accepted))
    suffix = suffix_of(path) or "(no extension)"
    hint = "; unpack the archive and name the file inside" if _is_archive(path) else ""
    return UnsupportedFormat(
        f"{path}: {role}: {suffix!r} is not a format geodx reads (accepted: {names}){hint}"
    )


def vector_driver(path: Path, *, role: str) -> str:
    """The driver for a vector file's extension; ``"Parquet"`` for (Geo)Parquet.

    Raises
    ------
    UnsupportedFormat
        Any other extension: ``.vrt``, ``.zip``, ``.gml``, ``.kml``, ...
    """
    suffix = path.suffix.lower()
    if suffix in VECTOR_DRIVERS and not _is_archive(path):
        return VECTOR_DRIVERS[suffix]
    if suffix in PARQUET_SUFFIXES:
        return "Parquet"
    raise refuse_suffix(path, role, set(VECTOR_DRIVERS) | PARQUET_SUFFIXES)


def check_content(path: Path, driver: str, *, role: str) -> None:
    """Refuse a file whose first bytes are not those of ``driver``'s format.

    Checked before GDAL sees the file: a VRT (XML) or any other format renamed to a
    ``.geojson``/``.gpkg``/... is refused without being opened.

    Raises
    ------
    UnsupportedFormat
    """
    head = _head(path, 100)
    if _looks_like(head, driver):
        return
    found = "XML (a GDAL VRT?)" if head.lstrip(_UTF8_BOM).lstrip()[:1] == b"<" else ""
    found = found or ("empty" if not head else "something else")
    raise UnsupportedFormat(
        f"{path}: {role}: content is not {driver} as its extension says (found {found})"
    )


def _looks_like(head: bytes, driver: str) -> bool:
    if driver == "GPKG":
        return head.startswith(_SQLITE) and head[68:72] in _GPKG_IDS
    if driver == "GeoJSON":
        return head.removeprefix(_UTF8_BOM).lstrip()[:1] == b"{"
    if driver == "ESRI Shapefile":
        return head.startswith(_SHAPEFILE)
    if driver == "FlatGeobuf":
        return head.startswith(_FLATGEOBUF)
    if driver == "Parquet":
        return head.startswith(_PARQUET)
    return False


def _head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}") from None


def check_file_size(path: Path, limits: Limits, *, role: str) -> None:
    """Refuse a file (or a shapefile part) larger than ``limits.max_file_bytes``.

    Raises
    ------
    InputTooLarge
    """
    parts = [path]
    if path.suffix.lower() == ".shp":
        parts += sorted(
            p for p in path.parent.glob(path.stem + ".*") if p.is_file() and p != path
        )
    for part in parts:
        size = part.stat().st_size
        if size > limits.max_file_bytes:
            raise InputTooLarge(
                f"{part}: {role}: file is {size:,} bytes; the limit is "
                f"{limits.max_file_bytes:,} (GEODX_MAX_FILE_BYTES)"
            )


def check_parquet_decoded(
    path: Path, columns: list[str] | None, limits: Limits, *, role: str
) -> None:
    """Refuse a Parquet file whose text and binary columns decode beyond the limit.

    Compression and dictionary encoding let a file of a few kilobytes hold gigabytes
    of repeated values (as a zip bomb does). The text and binary columns are read as
    dictionaries (their encoded size) and the decoded size summed before anything is
    decoded; numeric columns are bounded by the row count.

    Raises
    ------
    InputTooLarge
    """
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    wanted = None if columns is None else {*columns, *geometry_columns(schema)}
    variable = [
        field.name
        for field in schema
        if (wanted is None or field.name in wanted) and _variable_width(field.type)
    ]
    if not variable:
        return
    parquet = pq.ParquetFile(path, read_dictionary=variable)
    total = 0
    for group in range(parquet.num_row_groups):
        table = parquet.read_row_group(group, columns=variable)
        for column in table.columns:
            for chunk in column.chunks:
                lengths = pc.binary_length(chunk.dictionary).take(chunk.indices)
                total += int(pc.sum(lengths).as_py() or 0)
        if total > limits.max_decoded_bytes:
            raise InputTooLarge(
                f"{path}: {role}: text and geometry columns decode to more than "
                f"{total:,} bytes; the limit is {limits.max_decoded_bytes:,} "
                "(GEODX_MAX_DECODED_BYTES)"
            )


def geometry_columns(schema: pa.Schema) -> set[str]:
    """The geometry columns GeoParquet metadata names (``geometry`` without it)."""
    try:
        geo = json.loads((schema.metadata or {}).get(b"geo", b"{}"))
        return {str(name) for name in geo.get("columns", {})} or {"geometry"}
    except (ValueError, AttributeError):
        return {"geometry"}


def _variable_width(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
    )


def check_feature_count(path: Path, count: int, limits: Limits, *, role: str) -> None:
    """Refuse more features (rows) than ``limits.max_features``; ``-1`` = unknown.

    Raises
    ------
    InputTooLarge
    """
    if count > limits.max_features:
        raise InputTooLarge(
            f"{path}: {role}: {count:,} features; the limit is "
            f"{limits.max_features:,} (GEODX_MAX_FEATURES)"
        )


def check_geometries(
    geoms: np.ndarray, *, path: Path, role: str, limits: Limits
) -> None:
    """Refuse more vertices than the limit, and any NaN or infinite coordinate.

    GEOS drops or mis-handles non-finite vertices (a polygon with one silently loses
    its households), so a file holding one is refused, naming the row.

    Raises
    ------
    InputTooLarge, GeometryError
    """
    vertices = int(shapely.get_num_coordinates(geoms).sum())
    if vertices > limits.max_vertices:
        raise InputTooLarge(
            f"{path}: {role}: {vertices:,} vertices; the limit is "
            f"{limits.max_vertices:,} (GEODX_MAX_VERTICES)"
        )
    # x and y only: z is never used, and GEOS reads a missing z as NaN.
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    finite = np.isfinite(coords).all(axis=1)
    if not finite.all():
        bad = ~finite
        row = int(index[np.flatnonzero(bad)[0]])
        rows = len(np.unique(index[bad]))
        raise GeometryError(
            f"{path}: {role}: row {row + 1} has a NaN or infinite coordinate "
            f"({rows} row(s) in all); fix or remove those vertices"
        )
