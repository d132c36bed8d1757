"""Worlds on real 2025 commune boundaries (read from ../shared/data, never copied here).

The real boundaries are simplified, so neighbours overlap and leave gaps; households are
put exactly on their vertices, a hair away from them, and at random, so the engine's
grid index meets real, ragged shapes. A dense synthetic world (20,000 households) makes
sure most households fall in grid cells the index decides without a per-point test.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from .files import to_crs, write_manifest, write_raster, write_table, write_vector
from .worlds import World
from .worlds_random import build_random

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
COMMUNES_2025 = DATA / "daklak_communes_2025.parquet"


def _real_communes(folder: Path) -> gpd.GeoDataFrame:
    """The ten communes around Buôn Ma Thuột, written as GeoParquet (exact coordinates)."""
    if not COMMUNES_2025.is_file():
        pytest.skip(f"real boundaries not available: {COMMUNES_2025}")
    frame = gpd.read_parquet(COMMUNES_2025)
    centre = frame.geometry.representative_point()
    near = (abs(centre.x - 108.05) < 0.12) & (abs(centre.y - 12.68) < 0.12)
    frame = frame.loc[near, ["ward_code", "official_name", "geometry"]]
    frame.to_parquet(folder / "xa_2025.parquet")
    return frame


def _real_households(frame: gpd.GeoDataFrame, rng: np.random.Generator) -> dict:
    """Real vertices, vertices nudged by ~1 m, and uniform points over the area."""
    vertices = shapely.get_coordinates(frame.geometry.values)
    exact = vertices[rng.choice(len(vertices), 250, replace=False)]
    nudged = vertices[rng.choice(len(vertices), 250, replace=False)]
    nudged = nudged + rng.normal(0, 1e-5, nudged.shape)
    west, south, east, north = frame.total_bounds
    uniform = np.column_stack(
        [rng.uniform(west, east, 2000), rng.uniform(south, north, 2000)]
    )
    points = np.vstack([exact, nudged, uniform])
    weights = rng.integers(1, 4, len(points))
    return {"kinh_do": points[:, 0], "vi_do": points[:, 1], "so_ho": weights}


def _real_layers(
    folder: Path, frame: gpd.GeoDataFrame, rng: np.random.Generator
) -> None:
    geoms = list(frame.geometry)
    served = [g.buffer(0.004).simplify(0.001) for g in geoms[:3]]
    write_vector(folder / "fibre_vung.gpkg", served, 4326)
    rings = [shapely.LineString(g.geoms[0].exterior.coords) for g in geoms[3:5]]
    write_vector(folder / "fibre_tuyen.gpkg", rings, 4326)
    write_vector(
        folder / "4g_vung.fgb",
        list(frame.iloc[5:9].to_crs(32649).geometry),
        32649,
    )
    west, south, east, north = frame.total_bounds
    xs, ys = to_crs([west, east], [south, north], 4326, 32649)
    x0, y0 = np.floor(xs.min() / 500) * 500, np.ceil(ys.max() / 500) * 500
    shape = (int((y0 - ys.min()) // 500), int((xs.max() - x0) // 500) + 1)
    values = rng.uniform(-115, -85, shape).astype(np.float32)
    values[rng.random(shape) < 0.1] = np.nan
    transform = Affine(500, 0, x0, 0, -500, y0)
    write_raster(folder / "5g.tif", values, transform, 32649, None)


def build_daklak(folder: Path) -> World:
    """Real Buôn Ma Thuột communes (2025) with households on and near their vertices."""
    rng = np.random.default_rng(2025)
    frame = _real_communes(folder)
    write_table(folder / "ho.parquet", _real_households(frame, rng))
    _real_layers(folder, frame, rng)
    manifest = write_manifest(
        folder,
        {
            "region": {"name": "Buôn Ma Thuột 2025 (hộ gia đình tổng hợp)",
                       "h3_resolution": 8},
            "communes": {"path": "xa_2025.parquet", "code": "ward_code",
                         "name": "official_name"},
            "households": {"path": "ho.parquet", "lon": "kinh_do", "lat": "vi_do",
                           "weight": "so_ho"},
            "layers": [
                {"id": "fibre-vung", "kind": "fibre", "path": "fibre_vung.gpkg"},
                {"id": "fibre-tuyen", "kind": "fibre", "path": "fibre_tuyen.gpkg",
                 "service_distance_m": 400},
                {"id": "4g-vung", "kind": "mobile", "technology": "4G",
                 "path": "4g_vung.fgb"},
                {"id": "5g", "kind": "mobile", "technology": "5G", "path": "5g.tif"},
            ],
        },
    )  # fmt: skip
    return World("daklak-2025", manifest)


def build_dense(folder: Path) -> World:
    """A random world with 20,000 households: the grid index decides most of them."""
    world = build_random(folder, seed=14, households=20_000)
    return World("dense", world.manifest)
