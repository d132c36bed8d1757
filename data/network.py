"""Synthetic vector coverage layers: fibre served areas, routes, splitters; 5G areas.

Each builder returns a GeoDataFrame in the world's metric CRS; the writer reprojects
to the CRS each file is stored in.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from data.world import (
    FIBRE_AREA,
    FIBRE_SPLITTERS,
    FIBRE_STREETS,
    FloatArray,
    World,
)

STREET_SPACING_M = 450.0  # parallel street cables; with a 250 m reach they leave no gap
SPLITTER_SPACING_M = 400.0


def blob(rng: np.random.Generator, x: float, y: float, radius_m: float) -> Polygon:
    """Make a round-ish polygon with a few random bumps, like a real served area."""
    theta = np.linspace(0.0, 2 * np.pi, 48, endpoint=False)
    r = np.ones_like(theta)
    for k in (2, 3, 5):
        r += rng.uniform(0.0, 0.08) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    return Polygon(
        np.column_stack(
            [x + radius_m * r * np.cos(theta), y + radius_m * r * np.sin(theta)]
        )
    )


def fibre_areas(
    rng: np.random.Generator, world: World, operator: str
) -> gpd.GeoDataFrame:
    """Served-area polygons around towns and the villages served that way."""
    s = world.settlements
    idx = np.flatnonzero(s.fibre == FIBRE_AREA)
    geoms = [blob(rng, s.x[i], s.y[i], s.fibre_reach[i] * s.sigma_m[i]) for i in idx]
    return gpd.GeoDataFrame(
        {"nha_mang": operator, "loai": "vùng phục vụ"},
        index=range(len(geoms)),
        geometry=geoms,
        crs=world.crs,
    )


def fibre_routes(
    rng: np.random.Generator, world: World, operator: str
) -> gpd.GeoDataFrame:
    """Backbone cables along the roads, and street cables in towns and some villages."""
    s = world.settlements
    lines: list[LineString] = list(world.roads)
    kinds = ["trục"] * len(lines)
    idx = np.flatnonzero((s.fibre == FIBRE_STREETS) | s.is_town)
    for i in idx:
        streets = _street_grid(rng, s.x[i], s.y[i], s.fibre_reach[i] * s.sigma_m[i])
        lines += streets
        kinds += ["phố"] * len(streets)
    return gpd.GeoDataFrame(
        {"nha_mang": operator, "loai": kinds}, geometry=lines, crs=world.crs
    )


def _street_grid(
    rng: np.random.Generator, x: float, y: float, radius_m: float
) -> list[LineString]:
    """Parallel streets across a disc, at a random bearing."""
    angle = rng.uniform(0, np.pi)
    ux, uy = np.cos(angle), np.sin(angle)
    out = []
    for off in np.arange(-radius_m, radius_m + 1.0, STREET_SPACING_M):
        half = np.sqrt(max(radius_m**2 - off**2, 0.0))
        if half < 50.0:
            continue
        cx, cy = x - uy * off, y + ux * off
        out.append(
            LineString(
                [(cx - ux * half, cy - uy * half), (cx + ux * half, cy + uy * half)]
            )
        )
    return out


def fibre_splitters(
    rng: np.random.Generator, world: World, operator: str
) -> gpd.GeoDataFrame:
    """Splitters on a square lattice in the villages served that way, a few missing."""
    s = world.settlements
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    for i in np.flatnonzero(s.fibre == FIBRE_SPLITTERS):
        r = s.fibre_reach[i] * s.sigma_m[i]
        k = np.arange(-r, r + 1.0, SPLITTER_SPACING_M)
        gx, gy = np.meshgrid(k, k)
        keep = (gx**2 + gy**2 <= r * r) & (rng.random(gx.shape) < 0.92)
        xs.append(s.x[i] + gx[keep])
        ys.append(s.y[i] + gy[keep])
    x = np.concatenate(xs) if xs else np.empty(0)
    y = np.concatenate(ys) if ys else np.empty(0)
    return gpd.GeoDataFrame(
        {"nha_mang": operator, "loai": "bộ chia quang"},
        index=range(x.size),
        geometry=shapely.points(x, y),
        crs=world.crs,
    )


def coverage_5g(
    rng: np.random.Generator,
    world: World,
    operator: str,
    town_share: float,
    factor: float,
) -> gpd.GeoDataFrame:
    """5G coverage polygons around the biggest towns (``town_share`` of them, >= 1)."""
    s = world.settlements
    towns = max(1, round(town_share * int(s.is_town.sum())))
    order = np.argsort(-np.where(s.is_town, s.size, -np.inf))[:towns]
    geoms = [blob(rng, s.x[i], s.y[i], factor * s.sigma_m[i]) for i in order]
    return gpd.GeoDataFrame(
        {"nha_mang": operator, "cong_nghe": "5G"},
        index=range(len(geoms)),
        geometry=geoms,
        crs=world.crs,
    )
