"""Brute-force reference: every household tested one by one, per docs/definitions.md.

This module is deliberately independent of the engine: it reads the region manifest and
its files itself, with plain tomllib / geopandas / rasterio / pyproj / shapely / h3, and
answers every per-household question with the most literal code possible (a loop over
households; shapely predicates vectorised only over a layer's features).
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyproj
import rasterio
import shapely

WGS84 = pyproj.CRS.from_epsg(4326)
DEFAULT_TARGETS = {
    "fibre_household_pct": Fraction(90),
    "mobile_commune_pct": Fraction(100),
    "mobile_commune_household_pct": Fraction(95),
}
RASTER_SUFFIXES = {".tif", ".tiff"}


def slugify(layer_id: str) -> str:
    """Layer id lower-cased, every character outside [a-z0-9] replaced by ``_``."""
    return re.sub(r"[^a-z0-9]", "_", layer_id.lower())


@dataclass(frozen=True)
class Layer:
    """One ``[[layers]]`` entry, with the documented defaults filled in."""

    id: str
    slug: str
    kind: str
    technology: str | None
    operator: str | None
    path: Path
    service_distance_m: float
    min_rsrp_dbm: float


@dataclass(frozen=True)
class Manifest:
    """The parts of ``region.toml`` the oracle needs."""

    path: Path
    name: str
    h3_resolution: int
    communes: dict[str, Any]
    households: dict[str, Any]
    layers: tuple[Layer, ...]
    targets: dict[str, Fraction]


def read_manifest(path: Path) -> Manifest:
    """Parse a region manifest (a folder or the ``region.toml`` itself)."""
    path = path / "region.toml" if path.is_dir() else path
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    root = path.parent
    layers = tuple(
        Layer(
            id=spec["id"],
            slug=slugify(spec["id"]),
            kind=spec["kind"],
            technology=spec.get("technology"),
            operator=spec.get("operator"),
            path=root / spec["path"],
            service_distance_m=float(spec.get("service_distance_m", 250)),
            min_rsrp_dbm=float(spec.get("min_rsrp_dbm", -105)),
        )
        for spec in doc.get("layers", [])
    )
    targets = dict(DEFAULT_TARGETS)
    for key, value in doc.get("targets", {}).items():
        targets[key] = Fraction(str(value))  # the decimal the user wrote
    communes = {"code": "commune_code", "name": "commune_name", **doc["communes"]}
    communes["path"] = root / communes["path"]
    households = {"lon": "lon", "lat": "lat", **doc["households"]}
    households["path"] = root / households["path"]
    return Manifest(
        path=path,
        name=doc["region"]["name"],
        h3_resolution=int(doc["region"]["h3_resolution"]),
        communes=communes,
        households=households,
        layers=layers,
        targets=targets,
    )


def read_vector(path: Path) -> gpd.GeoDataFrame:
    """Read any vector file the manifest may name (GeoParquet included)."""
    if path.suffix == ".parquet":
        return gpd.read_parquet(path)
    return gpd.read_file(path)


def transform_xy(
    xs: np.ndarray, ys: np.ndarray, src: pyproj.CRS, dst: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinates straight from ``src`` to ``dst`` (``always_xy``)."""
    if src.is_exact_same(dst):
        return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    transformer = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    x2, y2 = transformer.transform(np.asarray(xs, float), np.asarray(ys, float))
    return np.asarray(x2, dtype=float), np.asarray(y2, dtype=float)


@dataclass
class Households:
    """Household positions in their own CRS, their weights and WGS84 positions."""

    x: np.ndarray
    y: np.ndarray
    crs: pyproj.CRS
    weight: np.ndarray
    lon: np.ndarray
    lat: np.ndarray

    def xy_in(self, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
        """Positions transformed straight into ``crs``."""
        return transform_xy(self.x, self.y, self.crs, crs)


def _is_geoparquet(path: Path) -> bool:
    metadata = pq.read_schema(path).metadata or {}
    return b"geo" in metadata


def read_households(spec: dict[str, Any]) -> Households:
    """Read the households file: a lon/lat table (WGS84) or a point vector file."""
    path: Path = spec["path"]
    is_table = path.suffix == ".csv" or (
        path.suffix == ".parquet" and not _is_geoparquet(path)
    )
    if is_table:
        frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
        x = frame[spec["lon"]].to_numpy(dtype=float)
        y = frame[spec["lat"]].to_numpy(dtype=float)
        crs = WGS84
    else:
        frame = read_vector(path)
        assert (frame.geom_type == "Point").all(), "oracle expects point households"
        x, y = frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
        crs = pyproj.CRS.from_user_input(frame.crs)
    if "weight" in spec:
        weight = frame[spec["weight"]].to_numpy()
        assert np.all(weight == np.round(weight)), "oracle worlds use whole weights"
        weight = weight.astype(np.int64)
    else:
        weight = np.ones(len(frame), dtype=np.int64)
    lon, lat = transform_xy(x, y, crs, WGS84)
    return Households(x=x, y=y, crs=crs, weight=weight, lon=lon, lat=lat)


@dataclass
class Communes:
    """Commune rows in file order, with their geometry in the file's CRS."""

    codes: list[str]
    names: list[str]
    district_codes: list[str | None]
    district_names: list[str | None]
    geoms: np.ndarray
    crs: pyproj.CRS
    frame: gpd.GeoDataFrame = field(repr=False)


def read_communes(spec: dict[str, Any]) -> Communes:
    """Read the communes file with the manifest's column names."""
    frame = read_vector(spec["path"])
    assert shapely.is_valid(frame.geometry.values).all(), "oracle needs valid shapes"
    dcode = spec.get("district_code", "district_code")
    dname = spec.get("district_name", "district_name")
    has_districts = dcode in frame.columns
    n = len(frame)
    return Communes(
        codes=[str(v) for v in frame[spec["code"]]],
        names=[str(v) for v in frame[spec["name"]]],
        district_codes=[str(v) for v in frame[dcode]] if has_districts else [None] * n,
        district_names=[str(v) for v in frame[dname]] if has_districts else [None] * n,
        geoms=np.asarray(frame.geometry.values),
        crs=pyproj.CRS.from_user_input(frame.crs),
        frame=frame,
    )


def assign_communes(hh: Households, communes: Communes) -> tuple[list, list[int]]:
    """Per household: the covering commune with the smallest code, and how many."""
    xs, ys = hh.xy_in(communes.crs)
    points = shapely.points(xs, ys)
    # covering[i, j]: does commune i's polygon cover household j (boundary included)?
    covering = np.vstack([shapely.covers(geom, points) for geom in communes.geoms])
    chosen: list[str | None] = []
    counts: list[int] = []
    for j in range(len(points)):
        codes = sorted({communes.codes[i] for i in np.flatnonzero(covering[:, j])})
        chosen.append(codes[0] if codes else None)
        counts.append(len(codes))
    return chosen, counts


def layer_source(layer: Layer) -> str:
    """``raster``, ``polygons``, ``lines`` or ``points``, from the file's content."""
    if layer.path.suffix.lower() in RASTER_SUFFIXES:
        return "raster"
    kinds = set(read_vector(layer.path).geom_type)
    for source, types in (
        ("polygons", {"Polygon", "MultiPolygon"}),
        ("lines", {"LineString", "MultiLineString"}),
        ("points", {"Point", "MultiPoint"}),
    ):
        if kinds <= types:
            return source
    raise AssertionError(f"oracle worlds do not mix geometry types: {kinds}")


def metric_crs(communes: Communes) -> pyproj.CRS:
    """The region's metric CRS: the UTM zone of the communes in WGS84."""
    utm = communes.frame.to_crs(WGS84).estimate_utm_crs()
    return pyproj.CRS.from_user_input(utm)


def _is_metric(crs: pyproj.CRS, hh: Households) -> bool:
    """Projected in metres and within 0.1 % of true scale at the households' centre."""
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if not (bool(crs.is_projected) and unit in {"metre", "meter"}):
        return False
    lon, lat = np.asarray(hh.lon), np.asarray(hh.lat)
    centre = ((lon.min() + lon.max()) / 2, (lat.min() + lat.max()) / 2)
    f = pyproj.Proj(crs).get_factors(*centre)
    return max(abs(f.meridional_scale - 1), abs(f.parallel_scale - 1)) <= 0.001


def covered_by_vector(layer: Layer, hh: Households, communes: Communes) -> np.ndarray:
    """Per household: inside a polygon, or within the service distance of a feature."""
    frame = read_vector(layer.path)
    crs = pyproj.CRS.from_user_input(frame.crs)
    source = layer_source(layer)
    if source != "polygons" and not _is_metric(crs, hh):
        crs = metric_crs(communes)
        frame = frame.to_crs(crs)
    points = shapely.points(*hh.xy_in(crs))
    out = np.zeros(len(points), dtype=bool)
    for geom in frame.geometry.values:
        if source == "polygons":
            out |= shapely.covers(geom, points)
        else:
            out |= shapely.dwithin(geom, points, layer.service_distance_m)
    return out


def covered_by_raster(layer: Layer, hh: Households) -> np.ndarray:
    """Per household: the containing pixel is in the raster, valid, and >= threshold."""
    with rasterio.open(layer.path) as src:
        # valid as GDAL defines it (mask band, alpha, nodata), with scale/offset
        band = src.read(1, masked=True).astype(np.float64)
        values = band.filled(np.nan) * src.scales[0] + src.offsets[0]
        inverse = ~src.transform
        crs = pyproj.CRS.from_user_input(src.crs.to_wkt())
    xs, ys = hh.xy_in(crs)
    out = np.zeros(len(xs), dtype=bool)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        col_f, row_f = inverse @ (float(x), float(y))
        col, row = math.floor(col_f), math.floor(row_f)
        if not (0 <= row < values.shape[0] and 0 <= col < values.shape[1]):
            continue
        value = float(values[row, col])
        if math.isnan(value):
            continue
        out[i] = value >= layer.min_rsrp_dbm
    return out


def household_table(manifest: Manifest) -> tuple[pd.DataFrame, Communes]:
    """One row per household: weight, WGS84 position, H3 cell, commune, every layer."""
    hh = read_households(manifest.households)
    communes = read_communes(manifest.communes)
    commune, n_communes = assign_communes(hh, communes)
    table = pd.DataFrame(
        {
            "lon": hh.lon,
            "lat": hh.lat,
            "weight": hh.weight,
            "h3": [
                h3.latlng_to_cell(float(la), float(lo), manifest.h3_resolution)
                for lo, la in zip(hh.lon, hh.lat, strict=True)
            ],
            "commune_code": pd.Series(commune, dtype=object),
            "n_communes": n_communes,
        }
    )
    fibre = np.zeros(len(table), dtype=bool)
    mobile, mobile_5g = fibre.copy(), fibre.copy()
    for layer in manifest.layers:
        if layer.path.suffix.lower() in RASTER_SUFFIXES:
            covered = covered_by_raster(layer, hh)
        else:
            covered = covered_by_vector(layer, hh, communes)
        table[f"layer_{layer.slug}"] = covered
        if layer.kind == "fibre":
            fibre |= covered
        else:
            mobile |= covered
            mobile_5g |= covered & (layer.technology == "5G")
    table["fibre"], table["mobile"], table["mobile_5g"] = fibre, mobile, mobile_5g
    return table, communes
