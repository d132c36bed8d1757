"""Estimated inputs of a demo region: a 4G site list, a density raster, census counts.

- ``vietnamobile_4g_sites.csv``: one operator's 4G as a list of sectors (DESIGN.md,
  "Mobile coverage predicted from sites"): three sectors per site, sites in and around
  the towns, some villages and along the roads;
- ``density.tif``: households per pixel of the region's own households (WGS84), so that
  a spread over it resembles the points;
- ``households_counts.csv``: households per commune (DESIGN.md, "Households from counts").

All synthetic, and labelled so.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import rasterio
import shapely
from affine import Affine

from data.radio import Operator4G, towers
from data.world import FloatArray, IntArray, World

SITES_NAME = "vietnamobile_4g_sites.csv"
SITES_OPERATOR = Operator4G("Vietnamobile", -70.0, 0.25, 14_000.0)
SITES_LAYER = {
    "id": "vietnamobile-4g-sites",
    "kind": "mobile",
    "operator": "Vietnamobile",
    "technology": "4G",
    "path": SITES_NAME,
    "model": "cost231-hata",
    "environment": "suburban",
    "min_rsrp_dbm": -105,
    "indoor_loss_db": 10,
}
SECTOR_COLUMNS = (
    "site",
    "lon",
    "lat",
    "height_m",
    "frequency_mhz",
    "rs_eirp_dbm",
    "azimuth_deg",
    "beamwidth_deg",
)
DENSITY_NAME = "density.tif"
DENSITY_PIXEL_DEG = 0.0025  # about 270 m
COUNTS_NAME = "households_counts.csv"
COUNTS_VINTAGE = "2025-04-01"


def write_sites(
    rng: np.random.Generator, world: World, out_dir: Path
) -> dict[str, object]:
    """Write the sector CSV (three sectors a site); return its manifest entry."""
    x, y = towers(rng, world, SITES_OPERATOR)
    n = x.size
    lon, lat = world.to_lonlat(x, y)
    turn = rng.uniform(0.0, 120.0, n)
    height = np.round(rng.uniform(30.0, 45.0, n), 1)
    eirp = np.round(rng.uniform(28.0, 34.0, n), 1)
    table = pl.DataFrame(
        {
            "site": np.repeat([f"VNM{i + 1:04d}" for i in range(n)], 3),
            "lon": np.repeat(np.round(lon, 6), 3),
            "lat": np.repeat(np.round(lat, 6), 3),
            "height_m": np.repeat(height, 3),
            "frequency_mhz": np.full(3 * n, 1800.0),
            "rs_eirp_dbm": np.repeat(eirp, 3),
            "azimuth_deg": np.round(
                (np.repeat(turn, 3) + np.tile([0.0, 120.0, 240.0], n)) % 360.0, 1
            ),
            "beamwidth_deg": np.full(3 * n, 65.0),
        }
    )
    table.select(SECTOR_COLUMNS).write_csv(out_dir / SITES_NAME)
    return dict(SITES_LAYER)


def write_density(
    path: Path, lon: FloatArray, lat: FloatArray, weight: IntArray
) -> None:
    """Households per pixel (float32, WGS84, north up) over the households' extent."""
    p = DENSITY_PIXEL_DEG
    west = np.floor(lon.min() / p) * p - p
    north = np.ceil(lat.max() / p) * p + p
    width = int(np.ceil((lon.max() - west) / p)) + 1
    height = int(np.ceil((north - lat.min()) / p)) + 1
    col = np.clip(((lon - west) / p).astype(np.int64), 0, width - 1)
    row = np.clip(((north - lat) / p).astype(np.int64), 0, height - 1)
    grid = np.zeros(height * width, dtype=np.float64)
    np.add.at(grid, row * width + col, weight.astype(np.float64))
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": Affine(p, 0.0, west, 0.0, -p, north),
        "compress": "deflate",
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(grid.reshape(height, width).astype(np.float32), 1)
        dst.set_band_description(1, "households per pixel, synthetic")
        dst.update_tags(units="households", synthetic="true")


def commune_counts(
    communes: gpd.GeoDataFrame, lon: FloatArray, lat: FloatArray, weight: IntArray
) -> pl.DataFrame:
    """Households per commune code (boundary included; a tie goes to the smallest code).

    Households outside every commune are not counted; communes without any are left out.
    """
    frame = communes.to_crs(4326)
    codes = frame["ma_xa"].astype(str).to_numpy()
    points = shapely.points(lon, lat)
    tree = shapely.STRtree(np.asarray(frame.geometry.values, dtype=object))
    pt, poly = tree.query(points, predicate="intersects")
    best: dict[int, str] = {}
    for i, j in zip(pt.tolist(), poly.tolist(), strict=True):
        code = str(codes[j])
        if i not in best or code < best[i]:
            best[i] = code
    idx = np.fromiter(best.keys(), dtype=np.int64, count=len(best))
    table = pl.DataFrame(
        {"ma_xa": list(best.values()), "households": weight[idx].astype(np.int64)}
    )
    return table.group_by("ma_xa").agg(pl.col("households").sum()).sort("ma_xa")


def write_counts(
    out_dir: Path,
    communes: gpd.GeoDataFrame,
    lon: FloatArray,
    lat: FloatArray,
    weight: IntArray,
) -> dict[str, object]:
    """Write the counts table and the density raster; return the ``[households]`` table."""
    commune_counts(communes, lon, lat, weight).write_csv(out_dir / COUNTS_NAME)
    write_density(out_dir / DENSITY_NAME, lon, lat, weight)
    return {
        "counts": COUNTS_NAME,
        "code": "ma_xa",
        "households": "households",
        "spread": DENSITY_NAME,
        "vintage": COUNTS_VINTAGE,
    }
