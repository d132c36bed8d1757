"""The model behind a demo region: where people live, roads, hills and who serves whom.

Everything here is in a metric CRS (metres on the ground, a UTM zone) and is made from a
seeded ``numpy.random.Generator``, so the same seed always gives the same world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

# How a settlement gets fibre: not at all, a VNPT served area, Viettel street cables,
# or VNPT splitters (points with a drop-cable reach).
FIBRE_NONE, FIBRE_AREA, FIBRE_STREETS, FIBRE_SPLITTERS = 0, 1, 2, 3


@dataclass(frozen=True)
class Settlements:
    """Towns and villages: gaussian clusters of households.

    Attributes
    ----------
    x, y : ndarray
        Centres in the world's metric CRS.
    sigma_m : ndarray
        Standard deviation of the cluster, metres.
    size : ndarray
        Relative size (expected households), used for shares and radii.
    is_town : ndarray
        Towns get fibre from both fixed operators, mobile towers and 5G.
    fibre : ndarray
        One of the ``FIBRE_*`` modes.
    fibre_reach : ndarray
        Radius of the fibre-served part of the settlement, in units of ``sigma_m``.
    """

    x: FloatArray
    y: FloatArray
    sigma_m: FloatArray
    size: FloatArray
    is_town: BoolArray
    fibre: IntArray
    fibre_reach: FloatArray

    def __len__(self) -> int:
        return int(self.x.size)


@dataclass(frozen=True)
class World:
    """A demo province: outline, settlements, roads and hills, in a metric CRS."""

    crs: pyproj.CRS
    outline: BaseGeometry
    settlements: Settlements
    roads: list[LineString]
    hills: FloatArray  # (k, 3): x, y, radius_m of hills that weaken radio signals
    # None: every hill weighs on every pixel (the province); k: only within k radii
    # of its summit (the country's hundreds of hills over millions of pixels).
    hill_reach: float | None = None

    def to_lonlat(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Transform metric coordinates to WGS84 longitude and latitude."""
        tr = pyproj.Transformer.from_crs(self.crs, 4326, always_xy=True)
        lon, lat = tr.transform(x, y)
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def random_points_in(
    rng: np.random.Generator, geom: BaseGeometry, n: int
) -> tuple[FloatArray, FloatArray]:
    """Draw ``n`` points uniformly inside ``geom`` (rejection from its bounding box)."""
    xmin, ymin, xmax, ymax = geom.bounds
    shapely.prepare(geom)
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    found = 0
    while found < n:
        m = max(64, 2 * (n - found))
        x = rng.uniform(xmin, xmax, m)
        y = rng.uniform(ymin, ymax, m)
        keep = shapely.contains_xy(geom, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        found += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def nearest_distance(
    x: FloatArray, y: FloatArray, px: FloatArray, py: FloatArray
) -> FloatArray:
    """Distance from each ``(x, y)`` to the nearest of a few points ``(px, py)``."""
    d2 = (x[:, None] - px[None, :]) ** 2 + (y[:, None] - py[None, :]) ** 2
    return np.asarray(np.sqrt(d2.min(axis=1)), dtype=np.float64)


def road_network(
    rng: np.random.Generator, x: FloatArray, y: FloatArray
) -> list[LineString]:
    """Roads joining towns: a minimum spanning tree plus each town's second neighbour.

    Each road wiggles a little (a sine bend of a few per cent of its length) so that it
    does not look like a ruler line.
    """
    n = x.size
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    edges = _spanning_tree(d)
    for i in range(n):
        for j in np.argsort(d[i])[1:3]:
            edges.add((min(i, int(j)), max(i, int(j))))
    roads = []
    for i, j in sorted(edges):
        t = np.linspace(0.0, 1.0, 24)
        bend = rng.uniform(-0.05, 0.05) * d[i, j] * np.sin(np.pi * t)
        ux, uy = (x[j] - x[i]) / d[i, j], (y[j] - y[i]) / d[i, j]
        px = x[i] + t * (x[j] - x[i]) - uy * bend
        py = y[i] + t * (y[j] - y[i]) + ux * bend
        roads.append(LineString(np.column_stack([px, py])))
    return roads


def _spanning_tree(d: FloatArray) -> set[tuple[int, int]]:
    """Prim's minimum spanning tree on a dense distance matrix."""
    n = d.shape[0]
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True
    best = d[0].copy()
    parent = np.zeros(n, dtype=int)
    edges: set[tuple[int, int]] = set()
    for _ in range(n - 1):
        cand = np.where(in_tree, np.inf, best)
        j = int(np.argmin(cand))
        edges.add((min(j, int(parent[j])), max(j, int(parent[j]))))
        in_tree[j] = True
        closer = d[j] < best
        best = np.where(closer, d[j], best)
        parent = np.where(closer, j, parent)
    return edges


def pick_hills(
    rng: np.random.Generator,
    outline: BaseGeometry,
    towns_x: FloatArray,
    towns_y: FloatArray,
) -> FloatArray:
    """Place a few hill ranges where nobody lives much: far from every town."""
    cx, cy = random_points_in(rng, outline, 400)
    far = nearest_distance(cx, cy, towns_x, towns_y)
    hills: list[tuple[float, float, float]] = []
    for i in np.argsort(-far):
        if all(np.hypot(cx[i] - hx, cy[i] - hy) > 35_000 for hx, hy, _ in hills):
            hills.append(
                (float(cx[i]), float(cy[i]), float(rng.uniform(10_000, 18_000)))
            )
        if len(hills) == 4:
            break
    return np.asarray(hills, dtype=float).reshape(-1, 3)


def hill_factor(
    x: FloatArray, y: FloatArray, hills: FloatArray, reach: float | None = None
) -> FloatArray:
    """How deep inside the hills each point is: 0 in the plains, up to 1 at a summit.

    With ``reach``, a hill counts only within ``reach`` radii of its summit (on each
    axis): the same value there, 0 beyond (below ``exp(-reach**2 / 2)``).
    """
    if reach is None:
        f = np.zeros_like(x)
        for hx, hy, r in hills:
            f = np.maximum(f, np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2 * r * r)))
        return f
    f = np.zeros(x.shape)
    flat_x, flat_y, flat_f = x.ravel(), y.ravel(), f.ravel()
    for hx, hy, r in hills:
        near = np.flatnonzero(
            (np.abs(flat_x - hx) < reach * r) & (np.abs(flat_y - hy) < reach * r)
        )
        d2 = (flat_x[near] - hx) ** 2 + (flat_y[near] - hy) ** 2
        flat_f[near] = np.maximum(flat_f[near], np.exp(-d2 / (2 * r * r)))
    return f


def assign_fibre(
    rng: np.random.Generator,
    x: FloatArray,
    y: FloatArray,
    is_town: BoolArray,
    roads: list[LineString],
    hills: FloatArray,
) -> IntArray:
    """Decide how each settlement gets fibre: likely near roads, less in the hills."""
    if roads:
        d_road = shapely.distance(shapely.points(x, y), shapely.union_all(roads))
    else:
        d_road = np.zeros_like(x)
    p = np.clip(1.25 - d_road / 50_000.0, 0.85, 0.99) * (
        1.0 - 0.25 * hill_factor(x, y, hills)
    )
    connected = rng.random(x.size) < p
    mode = rng.choice(
        np.array([FIBRE_AREA, FIBRE_STREETS, FIBRE_SPLITTERS]),
        size=x.size,
        p=[0.4, 0.35, 0.25],
    )
    out = np.where(connected, mode, FIBRE_NONE).astype(np.int64)
    return np.where(is_town, FIBRE_AREA, out).astype(np.int64)


def fibre_reach(rng: np.random.Generator, is_town: BoolArray) -> FloatArray:
    """How far the fibre reaches into each settlement, in cluster standard deviations.

    A reach of ``k`` serves ``1 - exp(-k**2 / 2)`` of a gaussian cluster: 86 % at 2.0,
    99 % at 3.0; towns are served out to 2.5.
    """
    return np.where(is_town, 2.5, rng.uniform(2.0, 3.0, is_town.size))
