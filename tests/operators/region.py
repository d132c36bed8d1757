"""A small generated region with three operators, and the brute force of its views.

Four communes in two districts; fibre polygons of two operators, a 4G raster (VNPT),
a 4G site list with indoor loss (Viettel), 5G polygons (MobiFone) and 4G polygons
without an operator. The brute force answers one household and one layer at a time
(shapely per point, the pixel by its own arithmetic, RSRP from ``tests.sites.naive``),
then counts every view in plain Python loops, by the rules of docs/definitions.md.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.transform import from_origin

from tests.sites.naive import CENTRE, Sector, naive_rsrp, random_sectors, write_sectors

MARGIN = 3.0
RASTER_THRESHOLD = -105.0
SITE_THRESHOLD = -110.0
LOSS = 8.0
PIXEL = 0.002  # degrees
WEST, SOUTH = CENTRE[0] - 0.05, CENTRE[1] - 0.05
# code, district, box
COMMUNES = [
    ("001", "D1", (WEST, SOUTH, WEST + 0.05, SOUTH + 0.05)),
    ("002", "D1", (WEST + 0.05, SOUTH, WEST + 0.1, SOUTH + 0.05)),
    ("003", "D2", (WEST, SOUTH + 0.05, WEST + 0.05, SOUTH + 0.1)),
    ("004", "D2", (WEST + 0.05, SOUTH + 0.05, WEST + 0.1, SOUTH + 0.1)),
]


@dataclass(frozen=True)
class Layer:
    id: str
    kind: str
    operator: str | None
    technology: str | None
    file: str
    extra: str = ""


LAYERS = [
    Layer("vnpt-fibre", "fibre", "VNPT", None, "vnpt_fibre.geojson"),
    Layer("viettel-fibre", "fibre", "Viettel", None, "viettel_fibre.geojson"),
    Layer(
        "vnpt-4g", "mobile", "VNPT", "4G", "vnpt_4g.tif",
        f"min_rsrp_dbm = {RASTER_THRESHOLD}",
    ),
    Layer(
        "viettel-4g", "mobile", "Viettel", "4G", "viettel_sites.csv",
        f'model = "cost231-hata"\nenvironment = "suburban"\n'
        f"min_rsrp_dbm = {SITE_THRESHOLD}\nindoor_loss_db = {LOSS}",
    ),
    Layer("mobi-5g", "mobile", "MobiFone", "5G", "mobi_5g.geojson"),
    Layer("misc-4g", "mobile", None, "4G", "misc_4g.geojson"),
]  # fmt: skip


@dataclass
class World:
    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray
    commune: list[str]
    # layer id -> delta (-3, 0, +3) -> per-household answer; "indoor" for the site layer
    answers: dict[str, dict[float, list[bool]]]
    indoor: list[bool]


def _boxes(rng: np.random.Generator, n: int) -> list[shapely.Polygon]:
    out = []
    for _ in range(n):
        x = rng.uniform(WEST, WEST + 0.08)
        y = rng.uniform(SOUTH, SOUTH + 0.08)
        out.append(
            shapely.box(x, y, x + rng.uniform(0.01, 0.03), y + rng.uniform(0.01, 0.03))
        )
    return out


def _write_polygons(path: Path, polygons: list[shapely.Polygon]) -> None:
    gpd.GeoDataFrame(geometry=polygons, crs=4326).to_file(path, driver="GeoJSON")


def _raster(folder: Path, rng: np.random.Generator) -> np.ndarray:
    """Whole-dBm RSRP around the threshold (so +-3 dB lands on it), a nodata patch."""
    n = int(round(0.1 / PIXEL))
    values = rng.integers(-115, -95, (n, n)).astype(np.float32)
    values[:5, :5] = -9999.0
    with rasterio.open(
        folder / "vnpt_4g.tif", "w", driver="GTiff", width=n, height=n, count=1,
        dtype="float32", crs="EPSG:4326", nodata=-9999.0,
        transform=from_origin(WEST, SOUTH + 0.1, PIXEL, PIXEL),
    ) as dst:  # fmt: skip
        dst.write(values, 1)
    return values


def _households(
    rng: np.random.Generator, n: int, edges: list[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Points clear of every commune, polygon and pixel edge by 1e-5 degree."""
    lon = rng.uniform(WEST + 1e-4, WEST + 0.1 - 1e-4, n * 2)
    lat = rng.uniform(SOUTH + 1e-4, SOUTH + 0.1 - 1e-4, n * 2)
    points = shapely.points(lon, lat)
    clear = np.ones(len(lon), dtype=bool)
    for geom in edges:
        clear &= shapely.distance(shapely.boundary(geom), points) > 1e-5
    for v in ((lon - WEST) / PIXEL, (SOUTH + 0.1 - lat) / PIXEL):
        clear &= np.abs(v - np.round(v)) > 1e-5 / PIXEL
    return lon[clear][:n], lat[clear][:n]


def _pixel_answer(values: np.ndarray, lon: float, lat: float, delta: float) -> bool:
    col = math.floor((lon - WEST) / PIXEL)
    row = math.floor((SOUTH + 0.1 - lat) / PIXEL)
    v = float(values[row, col])
    return v != -9999.0 and v + delta >= RASTER_THRESHOLD


def _site_answers(rsrp: float) -> tuple[dict[float, bool], bool]:
    shifted = {d: rsrp + d >= SITE_THRESHOLD for d in (-MARGIN, 0.0, MARGIN)}
    return shifted, rsrp - LOSS >= SITE_THRESHOLD


def build(folder: Path, *, n: int = 900, seed: int = 7) -> tuple[World, list[Sector]]:
    """Write the region's files (the manifest without targets); return the truth."""
    rng = np.random.default_rng(seed)
    gpd.GeoDataFrame(
        {
            "commune_code": [c for c, _, _ in COMMUNES],
            "commune_name": [f"Xã {c}" for c, _, _ in COMMUNES],
            "district_code": [d for _, d, _ in COMMUNES],
            "district_name": [f"Huyện {d}" for _, d, _ in COMMUNES],
        },
        geometry=[shapely.box(*b) for _, _, b in COMMUNES],
        crs=4326,
    ).to_file(folder / "communes.geojson", driver="GeoJSON")
    polygons = {
        lid: _boxes(rng, 4)
        for lid in ("vnpt-fibre", "viettel-fibre", "mobi-5g", "misc-4g")
    }
    for layer in LAYERS:
        if layer.id in polygons:
            _write_polygons(folder / layer.file, polygons[layer.id])
    values = _raster(folder, rng)
    sectors = random_sectors(rng, 25)
    write_sectors(folder / "viettel_sites.csv", sectors)
    edges = [shapely.box(*b) for _, _, b in COMMUNES] + [
        p for ps in polygons.values() for p in ps
    ]
    lon, lat = _households(rng, n, edges)
    rsrp = naive_rsrp(lon, lat, sectors, "suburban")
    # Away from every threshold the site layer is compared with (float noise).
    cuts = [SITE_THRESHOLD + d for d in (-MARGIN, 0.0, MARGIN, LOSS)]
    keep = np.all([np.abs(rsrp - c) > 1e-6 for c in cuts], axis=0)
    lon, lat, rsrp = lon[keep], lat[keep], rsrp[keep]
    weight = rng.integers(1, 5, len(lon))
    pd.DataFrame({"lon": lon, "lat": lat, "households": weight}).to_csv(
        folder / "households.csv", index=False, float_format="%.17g"
    )
    answers: dict[str, dict[float, list[bool]]] = defaultdict(lambda: defaultdict(list))
    indoor, commune = [], []
    for a, b, r in zip(lon, lat, rsrp, strict=True):
        point = shapely.Point(a, b)
        commune.append(
            next(c for c, _, box in COMMUNES if shapely.box(*box).covers(point))
        )
        for lid, ps in polygons.items():
            inside = any(p.covers(point) for p in ps)
            for d in (-MARGIN, 0.0, MARGIN):
                answers[lid][d].append(inside)
        for d in (-MARGIN, 0.0, MARGIN):
            answers["vnpt-4g"][d].append(_pixel_answer(values, float(a), float(b), d))
        shifted, inside_site = _site_answers(float(r))
        for d, v in shifted.items():
            answers["viettel-4g"][d].append(v)
        indoor.append(inside_site)
    return World(lon, lat, weight, commune, answers, indoor), sectors


def manifest(folder: Path, targets: str = "") -> Path:
    text = """
[region]
name = "Operators"
h3_resolution = 8
[communes]
path = "communes.geojson"
[households]
path = "households.csv"
weight = "households"
"""
    for layer in LAYERS:
        text += f'\n[[layers]]\nid = "{layer.id}"\nkind = "{layer.kind}"\npath = "{layer.file}"\n'
        if layer.operator:
            text += f'operator = "{layer.operator}"\n'
        if layer.technology:
            text += f'technology = "{layer.technology}"\n'
        text += layer.extra + "\n"
    path = folder / "region.toml"
    path.write_text(text + targets, encoding="utf-8")
    return path


def expected(world: World, codes: set[str] | None, target_pct: float) -> dict[str, Any]:
    """Every view for the households of ``codes`` (all when None), counted naively."""
    out: dict[str, Any] = defaultdict(int)
    ops = {"vnpt": ("VNPT",), "viettel": ("Viettel",), "mobifone": ("MobiFone",)}
    for i, code in enumerate(world.commune):
        if codes is not None and code not in codes:
            continue
        w = int(world.weight[i])
        out["households"] += w
        by_layer = {
            lid: {d: v[i] for d, v in a.items()} for lid, a in world.answers.items()
        }
        mobile_layers = [la for la in LAYERS if la.kind == "mobile"]
        served = 0
        for slug, (name,) in ops.items():
            mine = [la for la in LAYERS if la.operator == name]
            fibre = [by_layer[la.id][0.0] for la in mine if la.kind == "fibre"]
            mobile = [by_layer[la.id][0.0] for la in mine if la.kind == "mobile"]
            if fibre:
                out[f"operator_{slug}_fibre_households"] += w * any(fibre)
            if mobile:
                out[f"operator_{slug}_mobile_households"] += w * any(mobile)
                served += any(mobile)
        out[
            f"mobile_operators_{min(served, 3)}{'plus' if served >= 3 else ''}_households"
        ] += w
        out["mobile_all_operators_households"] += w * (served == 3)
        out["mobile_households"] += w * any(
            by_layer[la.id][0.0] for la in mobile_layers
        )
        out["mobile_households_minus3db"] += w * any(
            by_layer[la.id][-MARGIN] for la in mobile_layers
        )
        out["mobile_households_plus3db"] += w * any(
            by_layer[la.id][MARGIN] for la in mobile_layers
        )
        out["mobile_indoor_households"] += w * world.indoor[i]
        out["layer_viettel_4g_indoor_households"] += w * world.indoor[i]
    for name in ("0", "1", "2", "3plus"):
        out.setdefault(f"mobile_operators_{name}_households", 0)
    hh = out["households"]
    if hh and codes is not None and len(codes) == 1:
        met = [100 * out[k] >= target_pct * hh for k in
               ("mobile_households", "mobile_households_minus3db", "mobile_households_plus3db")]  # fmt: skip
        out["mobile_covered_sensitive"] = met[1] != met[0] or met[2] != met[0]
    return dict(out)
