"""Synthetic 4G signal rasters: RSRP (dBm) from a path-loss model around towers.

RSRP at distance ``d`` from the best tower is ``P1km - 36 log10(d / 1 km)`` (a path-loss
exponent of 3.6, typical of rural macro cells), minus a terrain loss in the hills, plus
spatially smooth shadow fading. Pixels with no tower within ``REACH_M`` are nodata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import shapely
from affine import Affine
from numpy.typing import NDArray

from data.world import FloatArray, World, hill_factor

NODATA = -9999.0
REACH_M = 16_000.0
HILL_LOSS_DB = 18.0
SHADOW_DB = 6.0


@dataclass(frozen=True)
class RasterGrid:
    """A north-up pixel grid in some CRS."""

    crs: pyproj.CRS
    transform: Affine
    width: int
    height: int


@dataclass(frozen=True)
class Operator4G:
    """How dense and how strong one operator's 4G network is."""

    name: str
    p1km_dbm: float  # RSRP 1 km from a tower
    village_share: float  # share of villages with a tower (less in the hills)
    road_spacing_m: float  # one tower every this many metres along the roads


def grid_over(
    world: World, crs: pyproj.CRS, pixel: float, *, west_share: float = 1.0
) -> RasterGrid:
    """Make a grid over the area (or its western ``west_share``), 5 km margin."""
    tr = pyproj.Transformer.from_crs(world.crs, crs, always_xy=True)
    outline = shapely.transform(
        world.outline.buffer(5_000),
        lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])),
    )
    xmin, ymin, xmax, ymax = outline.bounds
    xmax = xmin + west_share * (xmax - xmin)
    width = int(np.ceil((xmax - xmin) / pixel))
    height = int(np.ceil((ymax - ymin) / pixel))
    return RasterGrid(crs, Affine(pixel, 0.0, xmin, 0.0, -pixel, ymax), width, height)


def towers(
    rng: np.random.Generator, world: World, op: Operator4G
) -> tuple[FloatArray, FloatArray]:
    """Tower sites: several per town, some villages, and along the roads."""
    s = world.settlements
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    for i in np.flatnonzero(s.is_town):
        n = 2 + int(4 * s.size[i] / s.size[s.is_town].max())
        xs.append(s.x[i] + rng.normal(size=n) * s.sigma_m[i])
        ys.append(s.y[i] + rng.normal(size=n) * s.sigma_m[i])
    p = op.village_share * (1.0 - 0.6 * hill_factor(s.x, s.y, world.hills))
    pick = ~s.is_town & (rng.random(len(s)) < p)
    xs.append(s.x[pick])
    ys.append(s.y[pick])
    for road in world.roads:
        at = np.arange(
            rng.uniform(0, op.road_spacing_m), road.length, op.road_spacing_m
        )
        pts = shapely.line_interpolate_point(road, at)
        xs.append(shapely.get_x(pts))
        ys.append(shapely.get_y(pts))
    return np.concatenate(xs), np.concatenate(ys)


def rsrp_raster(
    rng: np.random.Generator, world: World, grid: RasterGrid, op: Operator4G
) -> NDArray[np.float32]:
    """Best-server RSRP (whole dBm, float32) on ``grid``; ``NODATA`` out of reach."""
    tx, ty = towers(rng, world, op)
    px, py = _pixel_centres(world, grid)
    to_grid = pyproj.Transformer.from_crs(world.crs, grid.crs, always_xy=True)
    gx, gy = to_grid.transform(tx, ty)
    cols, rows = ~grid.transform @ (np.asarray(gx), np.asarray(gy))
    mx, my = _metres_per_pixel(px, py)
    hx, hy = int(REACH_M / mx) + 2, int(REACH_M / my) + 2
    d2 = np.full(px.shape, np.inf)
    for t in range(tx.size):
        c, r = int(cols[t]), int(rows[t])
        r0, r1 = max(r - hy, 0), min(r + hy + 1, grid.height)
        c0, c1 = max(c - hx, 0), min(c + hx + 1, grid.width)
        if r0 >= r1 or c0 >= c1:
            continue
        win = (px[r0:r1, c0:c1] - tx[t]) ** 2 + (py[r0:r1, c0:c1] - ty[t]) ** 2
        np.minimum(d2[r0:r1, c0:c1], win, out=d2[r0:r1, c0:c1])
    d_km2 = np.maximum(d2, 50.0**2) / 1e6
    value = op.p1km_dbm - 18.0 * np.log10(d_km2)
    value -= HILL_LOSS_DB * hill_factor(px, py, world.hills, world.hill_reach)
    value += _smooth_noise(rng, world, px, py)
    value = np.clip(np.round(value), -140.0, -44.0)
    return np.where(d2 <= REACH_M**2, value, NODATA).astype(np.float32)


def _pixel_centres(world: World, grid: RasterGrid) -> tuple[FloatArray, FloatArray]:
    """Pixel-centre coordinates in the world's metric CRS, shape (height, width)."""
    cols, rows = np.meshgrid(np.arange(grid.width) + 0.5, np.arange(grid.height) + 0.5)
    x, y = grid.transform @ (cols, rows)
    if pyproj.CRS(grid.crs) == pyproj.CRS(world.crs):
        return np.asarray(x), np.asarray(y)
    tr = pyproj.Transformer.from_crs(grid.crs, world.crs, always_xy=True)
    mx, my = tr.transform(x, y)
    return np.asarray(mx), np.asarray(my)


def _metres_per_pixel(px: FloatArray, py: FloatArray) -> tuple[float, float]:
    """Smallest ground size of a pixel along columns and rows (for search windows)."""
    dx = np.hypot(np.diff(px, axis=1), np.diff(py, axis=1))
    dy = np.hypot(np.diff(px, axis=0), np.diff(py, axis=0))
    return float(dx.min()), float(dy.min())


def _smooth_noise(
    rng: np.random.Generator, world: World, px: FloatArray, py: FloatArray
) -> FloatArray:
    """Shadow fading: gaussian noise on a 4 km lattice, bilinearly interpolated."""
    spacing = 4_000.0
    xmin, ymin, xmax, ymax = world.outline.buffer(40_000).bounds
    nx = int((xmax - xmin) / spacing) + 2
    ny = int((ymax - ymin) / spacing) + 2
    lattice = rng.normal(0.0, 1.5 * SHADOW_DB, (ny, nx))
    fx = np.clip((px - xmin) / spacing, 0.0, nx - 1.001)
    fy = np.clip((py - ymin) / spacing, 0.0, ny - 1.001)
    i, j = fx.astype(int), fy.astype(int)
    u, v = fx - i, fy - j
    field = (
        lattice[j, i] * (1 - u) * (1 - v)
        + lattice[j, i + 1] * u * (1 - v)
        + lattice[j + 1, i] * (1 - u) * v
        + lattice[j + 1, i + 1] * u * v
    )
    return np.asarray(field, dtype=np.float64)
