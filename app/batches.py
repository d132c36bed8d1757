"""Household files read a batch at a time, whatever their format (``app.spill``).

``app.spill`` reads a lon/lat Parquet table in batches itself; this module reads the
other household files the same way, so that splitting them never holds every
household either:

- a CSV table through pyarrow's streaming reader (``pyarrow.csv.open_csv``, blocks of
  :data:`CSV_BLOCK` bytes), its lon, lat and weight columns parsed as numbers;
- a point file GDAL reads (GeoPackage, FlatGeobuf, GeoJSON, shapefile) through
  ``pyogrio.open_arrow``, ``app.spill.BATCH`` features a batch;
- a GeoParquet point file (WKB geometries) through pyarrow's ``iter_batches``, each
  batch converted by geopandas as ``geopandas.read_parquet`` converts the whole file.

Before any batch, the checks the whole-file reader (:func:`geodx.io.read_households`)
makes before reading run here too (size, content, layer, driver, feature count,
decoded size, columns present); a file that fails one is not read in batches and the
whole-file reader refuses it with its own message. Each batch then meets the reader's
rules (one non-empty point a row, finite coordinates that map to WGS84 and back, the
weights' rules; ``app.spill`` checks the WGS84 range and the region). Whenever a
batch breaks a rule, or holds something this reader is stricter about than the
whole-file one (a boolean or text column of numbers, ``-0``), the batch
raises :class:`Refused` and the whole file is read again by
:func:`geodx.io.read_households`: the same one-line error, naming file, field and
row, or the same points. Points reach ``app.spill`` in the file's CRS, transformed
to WGS84 point by point as the whole-file reader's points are.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyogrio
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from geodx.errors import GeodxError
from geodx.formats import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    VECTOR_DRIVERS,
    check_content,
    check_feature_count,
    check_file_size,
    check_parquet_decoded,
    vector_driver,
)
from geodx.io import _pick_layer, is_lonlat_table
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import HouseholdsSpec
from geodx.points import WGS84, HouseholdPoints
from geodx.tables import check_projected_lonlat, weights_from_frame

#: Bytes per block of a CSV table (about 110,000 rows of lon, lat and weight; the
#: streaming reader reads ahead: a 10M-household CSV split at 436 MiB peak with 4 MiB
#: blocks, 712 MiB with 16 MiB ones, 1136 MiB read whole).
CSV_BLOCK = 1 << 22
ROLE = "households"
# What a reader raises on a file it cannot read: the whole-file reader says why.
_READ_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pa.ArrowException,
    OSError,
    ValueError,
    KeyError,
    TypeError,
    UnicodeDecodeError,
)


class Refused(Exception):
    """A batch broke a rule: the whole-file reader says which."""


@dataclass
class Batch:
    """A batch of households: the file's coordinates, weights, and WGS84 lon/lat."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    w: NDArray[np.float64]
    lng: NDArray[np.float64]
    lat: NDArray[np.float64]


@dataclass(frozen=True)
class BatchedFile(HouseholdsSpec):
    """A households file this module reads in batches, checked before its first one."""

    limits: Limits = DEFAULT_LIMITS
    crs: CRS = WGS84  # the points' CRS (the file's)
    driver: str = "CSV"  # "CSV", "Parquet" (GeoParquet) or the GDAL driver
    geo: str = ""  # GeoParquet: the file's "geo" metadata (JSON)

    def batches(self) -> Iterator[Batch]:
        """The file's households, a batch at a time (``app.spill``'s batches)."""
        if self.driver == "CSV":
            return _csv_batches(self)
        if self.driver == "Parquet":
            return _geoparquet_batches(self)
        return _ogr_batches(self)


def batched_file(spec: HouseholdsSpec, limits: Limits) -> HouseholdsSpec:
    """``spec`` as a :class:`BatchedFile` when read here in batches, else ``spec``.

    Lon/lat Parquet tables stay with ``app.spill``; a file that fails a check made
    before reading stays ``spec``, for the whole-file reader to refuse.
    """
    if isinstance(spec, BatchedFile):
        return spec
    try:
        got = _checked(spec, limits)
    except (GeodxError, *_READ_ERRORS):
        return spec
    return spec if got is None else got


def _checked(spec: HouseholdsSpec, limits: Limits) -> BatchedFile | None:
    path = spec.path
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        check_file_size(path, limits, role=ROLE)
        if not _has_columns(_csv_header(path), spec):
            return None
        return BatchedFile(**asdict(spec), limits=limits)
    if suffix in PARQUET_SUFFIXES:
        if is_lonlat_table(path, role=ROLE):
            return None  # app.spill's own batches
        return _geoparquet(spec, limits)
    if suffix in VECTOR_DRIVERS:
        return _ogr(spec, limits)
    return None


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def _has_columns(names: list[str], spec: HouseholdsSpec) -> bool:
    """Every column the spec names, each exactly once."""
    return all(names.count(name) == 1 for name in _wanted(spec))


def _wanted(spec: HouseholdsSpec) -> list[str]:
    return [spec.lon, spec.lat] + ([spec.weight] if spec.weight else [])


def _batch_rows() -> int:
    from app import spill

    return int(spill.BATCH)


# --- CSV ---------------------------------------------------------------------------


def _csv_batches(f: BatchedFile) -> Iterator[Batch]:
    wanted = _wanted(f)
    convert = pacsv.ConvertOptions(
        include_columns=wanted, column_types=dict.fromkeys(wanted, pa.float64())
    )
    options = pacsv.ReadOptions(block_size=CSV_BLOCK)
    rows = 0
    try:
        with pacsv.open_csv(
            f.path, read_options=options, convert_options=convert
        ) as reader:
            for batch in reader:
                rows += batch.num_rows
                if rows > f.limits.max_features:
                    raise Refused
                lon, lat = _floats(batch, f.lon), _floats(batch, f.lat)
                w = _floats(batch, f.weight) if f.weight else np.ones(len(lon))
                yield Batch(lon, lat, w, lon, lat)
    except _READ_ERRORS:
        raise Refused from None


def _floats(batch: pa.RecordBatch, name: str) -> NDArray[np.float64]:
    """A float64 column without nulls or ``-0`` (an integer column reads it as 0)."""
    col = batch.column(name)
    if col.null_count:
        raise Refused
    values = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    if np.any((values == 0) & np.signbit(values)):
        raise Refused
    return values


# --- point files GDAL reads ----------------------------------------------------------


def _ogr(spec: HouseholdsSpec, limits: Limits) -> BatchedFile | None:
    path = spec.path
    driver = vector_driver(path, role=ROLE)
    check_file_size(path, limits, role=ROLE)
    check_content(path, driver, role=ROLE)
    layer = _pick_layer(path, driver, spec.layer, role=ROLE)
    info = pyogrio.read_info(path, layer=layer)
    if info["driver"] != driver or info["crs"] is None:
        return None
    check_feature_count(path, int(info["features"]), limits, role=ROLE)
    if spec.weight and spec.weight not in [str(f) for f in info["fields"]]:
        return None
    fields = {**asdict(spec), "layer": layer}
    return BatchedFile(**fields, limits=limits, crs=_crs(info["crs"]), driver=driver)


def _crs(text: Any) -> CRS:
    """As ``read_households`` makes it: ``CRS`` of the frame's CRS of the text."""
    return CRS(CRS.from_user_input(text))


def _ogr_batches(f: BatchedFile) -> Iterator[Batch]:
    checks = _PointChecks(f)
    columns = [f.weight] if f.weight else []
    try:
        with pyogrio.open_arrow(
            f.path, layer=f.layer, columns=columns, batch_size=_batch_rows(),
            use_pyarrow=True, datetime_as_string=True,  # as read_dataframe reads
        ) as (meta, reader):  # fmt: skip
            if _crs(meta["crs"]) != f.crs:
                raise Refused
            name = meta["geometry_name"] or "wkb_geometry"
            for batch in reader:
                with np.errstate(invalid="ignore"):
                    geoms = shapely.from_wkb(np.asarray(batch.column(name)))
                weights = batch.column(f.weight).to_pandas() if f.weight else None
                yield checks.batch(geoms, weights)
    except _READ_ERRORS:
        raise Refused from None


class _PointChecks:
    """The whole-file reader's point and weight rules, batch by batch."""

    def __init__(self, f: BatchedFile) -> None:
        self.f, self.rows, self.vertices = f, 0, 0

    def batch(self, geoms: NDArray[Any], weights: pd.Series | None) -> Batch:
        f = self.f
        self.rows += len(geoms)
        self.vertices += int(shapely.get_num_coordinates(geoms).sum())
        limits = f.limits
        if self.rows > limits.max_features or self.vertices > limits.max_vertices:
            raise Refused
        types = shapely.get_type_id(geoms)
        if len(geoms) and ((types != 0) | shapely.is_empty(geoms)).any():
            raise Refused
        coords = shapely.get_coordinates(geoms)
        if not np.isfinite(coords).all():
            raise Refused
        try:
            w = np.ones(len(geoms))
            if f.weight:
                frame = pd.DataFrame({f.weight: weights})
                w = weights_from_frame(frame, f, limits=limits)
            points = HouseholdPoints(coords[:, 0].copy(), coords[:, 1].copy(), w, f.crs)
            check_projected_lonlat(points, path=f.path)
        except GeodxError:
            raise Refused from None
        lng, lat = points.lng_lat
        return Batch(points.x, points.y, points.weight, lng, lat)


# --- GeoParquet ----------------------------------------------------------------------


def _geoparquet(spec: HouseholdsSpec, limits: Limits) -> BatchedFile | None:
    path = spec.path
    check_file_size(path, limits, role=ROLE)
    check_content(path, "Parquet", role=ROLE)
    meta = pq.read_metadata(path)
    check_feature_count(path, meta.num_rows, limits, role=ROLE)
    check_parquet_decoded(path, None, limits, role=ROLE)
    schema = meta.schema.to_arrow_schema()
    geo = (schema.metadata or {}).get(b"geo", b"").decode()
    info = json.loads(geo)
    column = info["columns"][info["primary_column"]]
    if column.get("encoding") != "WKB" or info["primary_column"] not in schema.names:
        return None
    if "crs" in column and column["crs"] is None:
        return None  # no CRS: the whole-file reader refuses it
    if spec.weight and spec.weight not in schema.names:
        return None
    if len(set(schema.names)) != len(schema.names):
        return None
    # The points' CRS, as geopandas.read_parquet gives the whole file's frame.
    empty = _geoframe(schema.empty_table().select([info["primary_column"]]), info)
    if empty.crs is None:
        return None
    fields = {"limits": limits, "crs": CRS(empty.crs), "driver": "Parquet", "geo": geo}
    return BatchedFile(**asdict(spec), **fields)


def _geoframe(table: pa.Table, info: dict[str, Any]) -> Any:
    """The frame ``geopandas.read_parquet`` makes of ``table`` (its own converter)."""
    from geopandas.io.arrow import _arrow_to_geopandas

    return _arrow_to_geopandas(table, info)


def _geoparquet_batches(f: BatchedFile) -> Iterator[Batch]:
    checks = _PointChecks(f)
    info = json.loads(f.geo)
    name = info["primary_column"]
    columns = [name] + ([f.weight] if f.weight else [])
    try:
        reader = pq.ParquetFile(f.path)
        try:
            for batch in reader.iter_batches(batch_size=_batch_rows(), columns=columns):
                frame = _geoframe(pa.Table.from_batches([batch]), info)
                geoms = np.asarray(frame.geometry.values, dtype=object)
                yield checks.batch(geoms, frame[f.weight] if f.weight else None)
        finally:
            reader.close()
    except _READ_ERRORS:
        raise Refused from None


__all__ = ["CSV_BLOCK", "Batch", "BatchedFile", "Refused", "batched_file"]
