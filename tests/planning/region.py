"""A small generated region for the planning tests, and the brute force of its rules.

Four communes in a 2 x 2 grid of 0.04 degree boxes (shared edges: a household on one
goes to the smaller code) plus a fifth overlapping two of them; weighted households;
three fibre layers (polygons, lines with 250 m reach, points with 150 m reach), a 4G
RSRP raster and 5G polygons. The brute force answers one point at a time with plain
shapely (``covers``; ``distance`` in the UTM zone), the raster pixel by its own
arithmetic and ``h3.latlng_to_cell``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS, Transformer
from rasterio.transform import from_origin

WEST, SOUTH = 108.0, 12.6
SIDE = 0.04
UTM = CRS.from_epsg(32649)
PIXEL = 0.002
# The raster's pixel edges miss the commune and polygon edges the tests probe.
SHIFT = PIXEL / 4
THRESHOLD = -105.0
RES = 9
REACH = {"lines": 250.0, "points": 150.0}
COMMUNES = [
    ("A01", (WEST, SOUTH, WEST + SIDE, SOUTH + SIDE)),
    ("A02", (WEST + SIDE, SOUTH, WEST + 2 * SIDE, SOUTH + SIDE)),
    ("B01", (WEST, SOUTH + SIDE, WEST + SIDE, SOUTH + 2 * SIDE)),
    ("B02", (WEST + SIDE, SOUTH + SIDE, WEST + 2 * SIDE, SOUTH + 2 * SIDE)),
    # overlaps A02 and B02 on their shared edge: A02 (smaller code) wins there
    ("C01", (WEST + 0.06, SOUTH + 0.03, WEST + 0.07, SOUTH + 0.05)),
]
TO_UTM = Transformer.from_crs(4326, UTM, always_xy=True)


@dataclass
class Region:
    """The region's files and the shapes the brute force uses."""

    folder: Path
    communes: dict[str, shapely.Geometry]  # as read back from the file
    polygons: list[shapely.Geometry]  # fibre served areas (WGS84)
    lines: list[shapely.Geometry]
    points: list[shapely.Geometry]
    g5: list[shapely.Geometry]
    raster: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray


def utm(geom: shapely.Geometry) -> shapely.Geometry:
    """A WGS84 geometry in the UTM zone, vertex by vertex."""
    return shapely.transform(
        geom, lambda xy: np.column_stack(TO_UTM.transform(xy[:, 0], xy[:, 1]))
    )


def _write(path: Path, geoms: list[shapely.Geometry]) -> list[shapely.Geometry]:
    """Write a GeoJSON file; return its shapes as read back (the file's coordinates)."""
    gpd.GeoDataFrame(geometry=geoms, crs=4326).to_file(path, driver="GeoJSON")
    return list(gpd.read_file(path).geometry)


def build(folder: Path, *, n: int = 700, seed: int = 3) -> Region:
    """Write the region into ``folder`` (files and region.toml); return the truth."""
    rng = np.random.default_rng(seed)
    gpd.GeoDataFrame(
        {
            "commune_code": [c for c, _ in COMMUNES],
            "commune_name": [f"Xã {c} ’<{{" for c, _ in COMMUNES],
        },
        geometry=[shapely.box(*b) for _, b in COMMUNES],
        crs=4326,
    ).to_file(folder / "communes.geojson", driver="GeoJSON")
    read = gpd.read_file(folder / "communes.geojson")
    communes = dict(zip(read["commune_code"], read.geometry, strict=True))
    polygons = [shapely.box(WEST + 0.005, SOUTH + 0.005, WEST + 0.02, SOUTH + 0.03)]
    lines = [
        shapely.LineString(
            [(WEST + 0.03, SOUTH + 0.01), (WEST + 0.05, SOUTH + 0.02), (WEST + 0.06, SOUTH + 0.07)]
        ),
        shapely.LineString([(WEST + 0.01, SOUTH + 0.06), (WEST + 0.025, SOUTH + 0.075)]),
    ]  # fmt: skip
    points = [
        shapely.Point(WEST + 0.07, SOUTH + 0.01),
        shapely.Point(WEST + 0.07, SOUTH + 0.065),
    ]
    g5 = [shapely.box(WEST + 0.04, SOUTH + 0.04, WEST + 0.08, SOUTH + 0.08)]
    polygons = _write(folder / "fibre_areas.geojson", polygons)
    lines = _write(folder / "fibre_routes.geojson", lines)
    points = _write(folder / "fibre_points.geojson", points)
    g5 = _write(folder / "g5.geojson", g5)
    size = int(round(2 * SIDE / PIXEL)) + 1
    values = rng.integers(-115, -95, (size, size)).astype(np.float32)
    values[:4, :4] = -9999.0
    with rasterio.open(
        folder / "g4.tif", "w", driver="GTiff", width=size, height=size, count=1,
        dtype="float32", crs="EPSG:4326", nodata=-9999.0,
        transform=from_origin(WEST - SHIFT, SOUTH + 2 * SIDE + SHIFT, PIXEL, PIXEL),
    ) as dst:  # fmt: skip
        dst.write(values, 1)
    lon = rng.uniform(WEST - 0.005, WEST + 2 * SIDE + 0.005, n)
    lat = rng.uniform(SOUTH - 0.005, SOUTH + 2 * SIDE + 0.005, n)
    weight = rng.integers(1, 4, n)
    pd.DataFrame({"lon": lon, "lat": lat, "households": weight}).to_csv(
        folder / "households.csv", index=False, float_format="%.17g"
    )
    (folder / "region.toml").write_text(MANIFEST, encoding="utf-8")
    return Region(
        folder, communes, polygons, lines, points, g5, values, lon, lat, weight
    )


MANIFEST = f"""
[region]
name = "Planning test"
h3_resolution = {RES}
[communes]
path = "communes.geojson"
[households]
path = "households.csv"
weight = "households"
[[layers]]
id = "areas"
kind = "fibre"
operator = "VNPT"
path = "fibre_areas.geojson"
[[layers]]
id = "routes"
kind = "fibre"
operator = "Viettel"
path = "fibre_routes.geojson"
service_distance_m = {REACH["lines"]}
[[layers]]
id = "splitters"
kind = "fibre"
operator = "VNPT"
path = "fibre_points.geojson"
service_distance_m = {REACH["points"]}
[[layers]]
id = "g4"
kind = "mobile"
technology = "4G"
operator = "MobiFone"
path = "g4.tif"
min_rsrp_dbm = {THRESHOLD}
[[layers]]
id = "g5"
kind = "mobile"
technology = "5G"
operator = "Viettel"
path = "g5.geojson"
"""


# --- the brute force, one point at a time -------------------------------------------
def commune_of(region: Region, lon: float, lat: float) -> str | None:
    """The smallest code of the communes covering the point (boundary included)."""
    point = shapely.Point(lon, lat)
    hits = [c for c, shape in region.communes.items() if shape.covers(point)]
    return min(hits) if hits else None


def distances(region: Region, lon: float, lat: float) -> dict[str, float]:
    """Ground metres (UTM) to the nearest feature of each fibre layer."""
    x, y = TO_UTM.transform(lon, lat)
    point = shapely.Point(x, y)
    return {
        name: min(shapely.distance(point, utm(g)) for g in geoms)
        for name, geoms in (
            ("areas", region.polygons),
            ("routes", region.lines),
            ("splitters", region.points),
        )
    }


def pixel_covered(region: Region, lon: float, lat: float) -> bool:
    col = math.floor((lon - (WEST - SHIFT)) / PIXEL)
    row = math.floor((SOUTH + 2 * SIDE + SHIFT - lat) / PIXEL)
    size = region.raster.shape[0]
    if not (0 <= row < size and 0 <= col < size):
        return False
    value = float(region.raster[row, col])
    return value != -9999.0 and value >= THRESHOLD


def answers(region: Region, lon: float, lat: float) -> dict[str, object]:
    """Every answer of a lookup, by the rules of docs/definitions.md."""
    point = shapely.Point(lon, lat)
    d = distances(region, lon, lat)
    layers = {
        "areas": any(p.covers(point) for p in region.polygons),
        "routes": d["routes"] <= REACH["lines"],
        "splitters": d["splitters"] <= REACH["points"],
        "g4": pixel_covered(region, lon, lat),
        "g5": any(p.covers(point) for p in region.g5),
    }
    fibre = layers["areas"] or layers["routes"] or layers["splitters"]
    return {
        "commune_code": commune_of(region, lon, lat),
        "h3": h3.latlng_to_cell(lat, lon, RES),
        "layers": layers,
        "fibre": fibre,
        "mobile": layers["g4"] or layers["g5"],
        "mobile_5g": layers["g5"],
        "distances": d,
    }


def extension(d: dict[str, float]) -> float:
    """The DESIGN.md rule: min over layers of (distance - reach, 0 for polygons), >= 0."""
    reach = {"areas": 0.0, "routes": REACH["lines"], "splitters": REACH["points"]}
    return max(0.0, min(d[k] - reach[k] for k in d))


def gap(covered: int, households: int, target_pct: float) -> int:
    """``ceil(max(0, target% x households - covered))`` in exact arithmetic."""
    missing = Fraction(str(target_pct)) * households / 100 - covered
    return math.ceil(max(Fraction(0), missing))


def greedy(
    rows: list[tuple[float, str, int, int]], gap_households: int
) -> tuple[int, float]:
    """Take (extension, h3, position, households) cheapest first until the gap."""
    taken, last = 0, 0.0
    for ext, _, _, w in sorted(rows):
        if taken >= gap_households:
            break
        taken += w
        last = ext
    return taken, last
