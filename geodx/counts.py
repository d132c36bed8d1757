"""Reading households from counts: the counts table, a density raster, building files.

Every input is untrusted (issue 6): tables through pyarrow with declared sizes checked
first, vector files through :func:`geodx.io.read_vector`, rasters as GeoTIFF only, read
with their mask and scale/offset, window by window over the communes' bounds within
``max_raster_window_bytes``. The spreading itself is :mod:`geodx.spread`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import rasterio
import rasterio.errors
import shapely
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS
from pyproj.exceptions import ProjError
from rasterio.enums import Interleaving
from rasterio.io import DatasetReader
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from geodx.crs import reproject
from geodx.errors import (
    CRSError,
    GeometryError,
    InputFileError,
    InputTooLarge,
    MissingColumn,
    UnsupportedFormat,
    first_line,
)
from geodx.formats import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    check_content,
    check_feature_count,
    check_file_size,
    check_parquet_decoded,
    refuse_suffix,
)
from geodx.io import read_vector, repair_geometries
from geodx.limits import Limits
from geodx.manifest_specs import CountsSpec
from geodx.spread import Candidates, CommuneCounts, Spread, match_counts, spread_counts
from geodx.tables import check_weight_cap

RASTER_SUFFIXES = {".tif", ".tiff"}
# Pixels decoded per read, at most (and at most the window budget).
READ_CHUNK_BYTES = 64 * 1024**2


def read_counts_table(
    spec: CountsSpec, *, limits: Limits
) -> tuple[pd.Series, NDArray[np.float64]]:
    """The counts table's codes (as text) and counts (finite, >= 0, within the limit).

    Raises
    ------
    UnsupportedFormat, InputTooLarge, InputFileError, MissingColumn
        One line naming the file, the column and the data row.
    """
    path = spec.counts
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | PARQUET_SUFFIXES:
        raise refuse_suffix(path, "households counts", CSV_SUFFIXES | PARQUET_SUFFIXES)
    check_file_size(path, limits, role="households counts")
    try:
        table = (
            _read_csv(path, spec)
            if suffix in CSV_SUFFIXES
            else _read_parquet(path, spec, limits)
        )
    except (pa.ArrowInvalid, OSError) as exc:
        if isinstance(exc, InputFileError):
            raise
        first = str(exc).strip().splitlines()[0]
        raise InputFileError(
            f"{path}: cannot read households counts: {first}"
        ) from None
    check_feature_count(path, table.num_rows, limits, role="households counts")
    codes = _codes(table.column(spec.code).to_pandas(), spec)
    counts = _counts(table.column(spec.households).to_pandas(), spec, limits)
    return codes, counts


def _columns(names: list[str], spec: CountsSpec) -> None:
    for key, column in (("code", spec.code), ("households", spec.households)):
        if column not in names:
            raise MissingColumn(
                f"{spec.counts}: column '{column}' ([households] {key}) not found; "
                f"columns are: {', '.join(names)}"
            )


def _read_csv(path: Path, spec: CountsSpec) -> pa.Table:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            names = next(csv.reader(fh), [])
    except UnicodeDecodeError:
        raise InputFileError(
            f"{path}: households counts table is not UTF-8 text"
        ) from None
    _columns(names, spec)
    # Codes stay text as written: GSO codes are zero-padded ("00004").
    options = pacsv.ConvertOptions(
        include_columns=[spec.code, spec.households],
        column_types={spec.code: pa.string()},
    )
    return pacsv.read_csv(path, convert_options=options)


def _read_parquet(path: Path, spec: CountsSpec, limits: Limits) -> pa.Table:
    check_content(path, "Parquet", role="households counts")
    meta = pq.read_metadata(path)
    check_feature_count(path, meta.num_rows, limits, role="households counts")
    _columns(meta.schema.to_arrow_schema().names, spec)
    check_parquet_decoded(
        path, [spec.code, spec.households], limits, role="households counts"
    )
    return pq.read_table(path, columns=[spec.code, spec.households])


def _codes(values: pd.Series, spec: CountsSpec) -> pd.Series:
    where = f"{spec.counts}: column '{spec.code}' ([households] code)"
    text = values.astype("string").str.strip()
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        text = values.astype("Int64").astype("string")
    empty = (text.isna() | (text == "")).to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise InputFileError(f"{where} is empty in data row {row + 1}")
    dup = text.duplicated().to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise InputFileError(
            f"{where}: code '{text.iloc[row]}' appears more than once (again in data "
            f"row {row + 1}); give one count per commune"
        )
    return text.reset_index(drop=True)


def _counts(values: pd.Series, spec: CountsSpec, limits: Limits) -> NDArray[np.float64]:
    where = f"{spec.counts}: column '{spec.households}' ([households] households)"
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    checks = (
        (~np.isfinite(numbers), "is empty, not a number or infinite"),
        (numbers < 0, "is negative"),
    )
    for bad, what in checks:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputFileError(f"{where} {what} in data row {row + 1}")
    check_weight_cap(numbers, where, per="commune", limits=limits)
    return numbers


def open_density(path: Path, *, limits: Limits) -> DatasetReader:
    """Open a density raster with the GTiff driver alone.

    Raises
    ------
    UnsupportedFormat, InputFileError, InputTooLarge
    """
    where = f"{path}: households spread raster"
    if path.suffix.lower() not in RASTER_SUFFIXES:
        raise UnsupportedFormat(
            f"{where}: {path.suffix!r} is not read; rasters must be GeoTIFF (.tif, .tiff)"
        )
    check_file_size(path, limits, role="households spread raster")
    try:
        return rasterio.open(path, driver="GTiff")
    except rasterio.errors.RasterioError as exc:
        raise InputFileError(
            f"{where} cannot be read as a GeoTIFF: {first_line(exc)}"
        ) from None


def density_candidates(
    dataset: DatasetReader,
    communes: gpd.GeoDataFrame,
    *,
    path: Path,
    limits: Limits,
) -> Candidates:
    """Centres and values of the valid pixels > 0 over the communes' bounds.

    Band 1, read with its mask (mask band, nodata, alpha) and scale/offset as GDAL
    defines them, in windows of whole rows of at most ``max_raster_window_bytes``.

    Raises
    ------
    UnsupportedFormat, CRSError, InputFileError, InputTooLarge
    """
    where = f"{path}: households spread raster"
    scale, offset, item = _check_density(dataset, where, limits)
    crs = CRS(dataset.crs.to_wkt())
    geoms = np.asarray(communes.geometry.values, dtype=object)
    rows, cols = _pixel_range(dataset, _bounds_in(geoms, CRS(communes.crs), crs))
    xs, ys, vs = [], [], []
    width = cols[1] - cols[0]
    step = max(
        1, min(READ_CHUNK_BYTES, limits.max_raster_window_bytes) // max(1, width * item)
    )
    try:
        for r0 in range(rows[0], rows[1], step):
            h = min(step, rows[1] - r0)
            block = dataset.read(1, window=Window(cols[0], r0, width, h), masked=True)
            value = block.data.astype(np.float64) * scale + offset
            with np.errstate(invalid="ignore"):
                ok = ~np.ma.getmaskarray(block) & np.isfinite(value) & (value > 0)
            r, c = np.nonzero(ok)
            x, y = _apply(dataset.transform, c + cols[0] + 0.5, r + r0 + 0.5)
            xs.append(np.asarray(x, dtype=np.float64))
            ys.append(np.asarray(y, dtype=np.float64))
            vs.append(value[ok])
    except rasterio.errors.RasterioError as exc:
        raise InputFileError(
            f"{where}: cannot read pixels: {first_line(exc)}"
        ) from None
    if not xs:
        return Candidates(np.zeros(0), np.zeros(0), np.zeros(0), crs)
    return Candidates(np.concatenate(xs), np.concatenate(ys), np.concatenate(vs), crs)


def _check_density(
    dataset: DatasetReader, where: str, limits: Limits
) -> tuple[float, float, int]:
    """GTiff with a CRS, finite scale/offset, within the pixel and block budgets."""
    if dataset.driver != "GTiff":
        raise UnsupportedFormat(f"{where} is {dataset.driver}, not a GeoTIFF")
    if dataset.crs is None:
        raise CRSError(f"{where} has no CRS")
    scale, offset = float(dataset.scales[0]), float(dataset.offsets[0])
    if not (np.isfinite(scale) and np.isfinite(offset) and scale):
        raise InputFileError(
            f"{where} has scale {scale:g} and offset {offset:g}; expected finite "
            "numbers and a scale other than 0"
        )
    pixels = dataset.width * dataset.height
    if pixels > limits.max_raster_pixels:
        raise InputTooLarge(
            f"{where} declares {dataset.width} x {dataset.height} = {pixels:,} pixels; "
            f"the limit is {limits.max_raster_pixels:,} (GEODX_MAX_RASTER_PIXELS)"
        )
    item = np.dtype(dataset.dtypes[0]).itemsize
    bands = dataset.count if dataset.interleaving == Interleaving.pixel else 1
    bh, bw = dataset.block_shapes[0]
    block = int(bh) * int(bw) * item * bands
    row_bytes = dataset.width * item * bands
    if max(block, row_bytes) > limits.max_raster_window_bytes:
        raise InputTooLarge(
            f"{where}: decoding one block or row takes {max(block, row_bytes):,} bytes; "
            f"the limit is {limits.max_raster_window_bytes:,} (GEODX_MAX_RASTER_WINDOW_BYTES)"
        )
    return scale, offset, item * bands


def _pixel_range(
    dataset: DatasetReader, bounds: tuple[float, float, float, float]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Rows and columns (start, stop) of the pixels that can hold ``bounds``."""
    west, south, east, north = bounds
    inverse = ~dataset.transform
    corners = [_apply(inverse, x, y) for x in (west, east) for y in (south, north)]
    cols = [c for c, _ in corners]
    rows = [r for _, r in corners]

    def clip(low: float, high: float, size: int) -> tuple[int, int]:
        start = int(np.clip(np.floor(low) - 1, 0, size))
        stop = int(np.clip(np.ceil(high) + 1, 0, size))
        return start, max(start, stop)

    return clip(min(rows), max(rows), dataset.height), clip(
        min(cols), max(cols), dataset.width
    )


def _apply(t: Affine, col: Any, row: Any) -> tuple[Any, Any]:
    """``t * (col, row)`` spelled out (affine 3 deprecates ``*``)."""
    return t.a * col + t.b * row + t.c, t.d * col + t.e * row + t.f


def building_candidates(
    path: Path, *, layer: str | None, utm: CRS, limits: Limits
) -> Candidates:
    """Building footprints (centroid, area in m2 in ``utm``) or points (weight 1).

    Raises
    ------
    UnsupportedFormat, InputTooLarge, InputFileError, CRSError, GeometryError
    """
    frame = read_vector(path, layer=layer, role="households spread", limits=limits)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    polygons = np.isin(types, (3, 6))
    points = (types == 0) & ~shapely.is_empty(geoms)
    bad = ~(polygons | points)
    if bad.any() or (polygons.any() and points.any()):
        row = int(np.flatnonzero(bad if bad.any() else points != points[0])[0])
        found = "no geometry" if types[row] < 0 else geoms[row].geom_type
        raise GeometryError(
            f"{path}: households spread must be all polygons (footprints) or all "
            f"points (buildings); row {row + 1} has {found}"
        )
    if points.all():
        xy = shapely.get_coordinates(geoms)
        return Candidates(
            xy[:, 0].copy(), xy[:, 1].copy(), np.ones(len(xy)), CRS(frame.crs)
        )
    shapes = reproject(
        repair_geometries(geoms, path=path, role="building"), frame.crs, utm
    )
    xy = shapely.get_coordinates(shapely.centroid(shapes))
    if len(xy) != len(shapes):  # a repaired footprint that collapsed has no centroid
        raise GeometryError(f"{path}: households spread has empty footprints")
    return Candidates(xy[:, 0].copy(), xy[:, 1].copy(), shapely.area(shapes), utm)


def estimate_households(
    spec: CountsSpec, communes: gpd.GeoDataFrame, *, utm: CRS, limits: Limits
) -> tuple[Spread, CommuneCounts]:
    """Read the counts and the spread, and spread the counts (DESIGN.md's rule).

    ``communes`` are sorted by code (as :func:`geodx.io.read_communes` returns them);
    ``utm`` is the region's UTM zone (footprint areas and centroids).

    Raises
    ------
    GeodxError
        Any input problem, in one line naming file, column and row.
    """
    codes, counts = read_counts_table(spec, limits=limits)
    matched = match_counts(communes["commune_code"], codes, counts)
    candidates = None
    if spec.spread is not None and spec.spread.suffix.lower() in RASTER_SUFFIXES:
        with open_density(spec.spread, limits=limits) as dataset:
            candidates = density_candidates(
                dataset, communes, path=spec.spread, limits=limits
            )
    elif spec.spread is not None:
        candidates = building_candidates(
            spec.spread, layer=spec.layer, utm=utm, limits=limits
        )
    return spread_counts(communes, matched.count, candidates), matched


def _bounds_in(
    geoms: np.ndarray, source: CRS, target: CRS
) -> tuple[float, float, float, float]:
    west, south, east, north = shapely.total_bounds(geoms).tolist()
    if source == target:
        return west, south, east, north
    try:
        box = transform_bounds(source, target, west, south, east, north, densify_pts=21)
    except (ProjError, ValueError) as exc:
        raise CRSError(
            f"communes' bounds cannot be moved to the spread raster's CRS: {exc}"
        ) from None
    return tuple(float(v) for v in box)  # type: ignore[return-value]
