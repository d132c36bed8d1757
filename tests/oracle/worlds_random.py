"""Seeded random worlds, and the small clean world the bad-input tests start from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import shapely
from affine import Affine

from .files import box, to_crs, write_manifest, write_raster, write_table, write_vector
from .worlds import World

STEP = 0.02  # commune grid step, degrees
ORIGIN = (108.0, 12.6)
NAMES = ["Xã Ea Tiêu", "Xã Hòa Đông", "Phường Ea Tam", "Xã Cư Suê", "Xã Đray Bhăng",
         "Xã Ea Ktur", "Xã Dray Sáp", "Xã Hòa Khánh", "Xã Ea Bông"]  # fmt: skip


def _random_communes(
    folder: Path, rng: np.random.Generator, seed: int, districts: bool
) -> Path:
    """A 3 x 3 grid with one cell missing (a gap) and one cell grown (overlaps)."""
    cells = [(i, j) for j in range(3) for i in range(3)]
    missing = int(rng.integers(0, 9))
    grown = int(rng.choice([k for k in range(9) if k != missing]))
    geoms, codes = [], []
    for k, (i, j) in enumerate(cells):
        if k == missing:
            continue
        x0, y0 = ORIGIN[0] + i * STEP, ORIGIN[1] + j * STEP
        shape = box(x0, y0, x0 + STEP, y0 + STEP)
        if k == grown:
            shape = shape.buffer(0.003, join_style="mitre")
        geoms.append(shape)
        codes.append(f"{24200 + k:05d}")
    columns: dict[str, Any] = {"ma": codes, "ten": [NAMES[int(c) % 9] for c in codes]}
    if districts:
        columns["ma_huyen"] = ["420" if int(c) % 9 < 5 else "421" for c in codes]
        columns["ten_huyen"] = ["Huyện Ea Súp" if d == "420" else "Huyện Buôn Đôn"
                                for d in columns["ma_huyen"]]  # fmt: skip
    suffix = [".geojson", ".fgb", ".gpkg"][seed % 3]
    return write_vector(folder / f"xa{suffix}", geoms, 4326, **columns)


def _random_households(
    folder: Path, rng: np.random.Generator, seed: int, n: int
) -> dict[str, Any]:
    """Random points, some on grid vertices: CSV without weights, Parquet or GeoJSON."""
    lon = rng.uniform(ORIGIN[0] - 0.005, ORIGIN[0] + 3 * STEP + 0.005, n)
    lat = rng.uniform(ORIGIN[1] - 0.005, ORIGIN[1] + 3 * STEP + 0.005, n)
    for k in range(6):
        i, j = rng.integers(0, 4, 2)
        lon[k], lat[k] = ORIGIN[0] + i * STEP, ORIGIN[1] + j * STEP
    form = (seed + 1) % 3  # every seed modulo 3 tries another format
    if form == 0:
        write_table(folder / "ho.csv", {"lon": lon, "lat": lat})
        return {"path": "ho.csv"}
    weight = rng.integers(1, 7, n)
    if form == 2:
        points = shapely.points(lon, lat)
        write_vector(folder / "ho.geojson", points, 4326, so_ho=weight)
        return {"path": "ho.geojson", "weight": "so_ho"}
    write_table(folder / "ho.parquet", {"X": lon, "Y": lat, "so_ho": weight})
    return {"path": "ho.parquet", "lon": "X", "lat": "Y", "weight": "so_ho"}


def _random_layers(folder: Path, rng: np.random.Generator) -> list[dict[str, Any]]:
    cx, cy = to_crs([108.03], [12.63], 4326, 32649)
    boxes = []
    for _ in range(3):
        x, y = cx[0] + rng.uniform(-3000, 3000), cy[0] + rng.uniform(-3000, 3000)
        boxes.append(box(x, y, x + rng.uniform(300, 2500), y + rng.uniform(300, 2500)))
    write_vector(folder / "fibre_area.gpkg", boxes, 32649)
    pts = rng.uniform([107.995, 12.595], [108.065, 12.665], size=(4, 2))
    write_vector(folder / "fibre_lines.geojson", [shapely.LineString(pts)], 4326)
    tx, ty = to_crs([108.01, 108.05], [12.61, 12.65], 4326, 3405)
    circles = [
        shapely.Point(x, y).buffer(rng.uniform(500, 1500))
        for x, y in zip(tx, ty, strict=True)
    ]
    write_vector(folder / "5g.fgb", circles, 3405)
    values = rng.uniform(-125, -80, size=(12, 14)).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.nan
    values[rng.random(values.shape) < 0.1] = -9999.0
    transform = Affine(
        1 / 256, 0, 108.0 + float(rng.integers(0, 5)) / 256, 0, -1 / 256, 12.65
    )
    write_raster(folder / "4g.tif", values, transform, 4326, -9999.0)
    # a raster turned by 15 degrees: the pixel rule is the full affine inverse
    turned = (
        Affine.translation(108.0, 12.67)
        * Affine.rotation(15)
        * Affine.scale(1 / 200, -1 / 200)
    )
    turned_values = rng.uniform(-120, -85, size=(14, 14)).astype(np.float32)
    write_raster(folder / "5g_xoay.tif", turned_values, turned, 4326, None)
    distance = int(rng.integers(100, 400))
    return [
        {"id": "fibre-area", "kind": "fibre", "path": "fibre_area.gpkg"},
        {"id": "fibre-lines", "kind": "fibre", "path": "fibre_lines.geojson",
         "service_distance_m": distance},
        {"id": "5g", "kind": "mobile", "technology": "5G", "path": "5g.fgb"},
        {"id": "5g-xoay", "kind": "mobile", "technology": "5G", "path": "5g_xoay.tif"},
        {"id": "4g", "kind": "mobile", "technology": "4G", "path": "4g.tif",
         "min_rsrp_dbm": float(rng.integers(-110, -95))},
    ]  # fmt: skip


def build_random(folder: Path, seed: int, households: int = 150) -> World:
    """A random 3 x 3 grid region: gaps, overlaps, vertex households, random layers."""
    rng = np.random.default_rng(seed)
    districts = bool(seed % 2)
    communes = _random_communes(folder, rng, seed, districts)
    household_spec = _random_households(folder, rng, seed, households)
    layers = _random_layers(folder, rng)
    commune_spec = {"path": communes.name, "code": "ma", "name": "ten"}
    if districts:
        commune_spec.update(district_code="ma_huyen", district_name="ten_huyen")
    manifest = write_manifest(
        folder,
        {
            "region": {"name": f"Vùng ngẫu nhiên {seed} (tổng hợp)",
                       "h3_resolution": int(rng.integers(7, 11))},
            "communes": commune_spec,
            "households": household_spec,
            "layers": layers,
            "targets": {"fibre_household_pct": int(rng.integers(20, 100)),
                        "mobile_commune_household_pct": int(rng.integers(20, 100)),
                        "mobile_commune_pct": int(rng.integers(20, 100))},
        },
    )  # fmt: skip
    return World(f"random-{seed}", manifest)


def build_basic(folder: Path) -> World:
    """Two communes, 20 households, a fibre polygon and a 4G raster: all valid."""
    write_vector(
        folder / "communes.geojson",
        [box(108.00, 12.60, 108.02, 12.62), box(108.02, 12.60, 108.04, 12.62)],
        4326,
        commune_code=["24001", "24002"],
        commune_name=["Xã Hòa Phú", "Xã Ea Kao"],
    )
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(108.0, 108.04, 20), rng.uniform(12.6, 12.62, 20)
    write_table(
        folder / "households.csv", {"lon": lon, "lat": lat, "ho": np.arange(20) % 3 + 1}
    )
    write_vector(folder / "fibre.geojson", [box(108.0, 12.6, 108.015, 12.62)], 4326)
    values = rng.uniform(-120, -80, size=(8, 8)).astype(np.float32)
    write_raster(
        folder / "4g.tif", values, Affine(0.005, 0, 108.0, 0, -0.005, 12.62), 4326, None
    )
    manifest = write_manifest(
        folder,
        {
            "region": {"name": "Vùng thử (tổng hợp)", "h3_resolution": 9},
            "communes": {"path": "communes.geojson"},
            "households": {"path": "households.csv", "weight": "ho"},
            "layers": [
                {"id": "fibre", "kind": "fibre", "path": "fibre.geojson"},
                {"id": "4g", "kind": "mobile", "technology": "4G", "path": "4g.tif"},
            ],
        },
    )  # fmt: skip
    return World("basic", manifest)
