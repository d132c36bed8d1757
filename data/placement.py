"""Placing households as people live: clustered in towns and villages, some along roads.

Positions are made in WGS84 longitude/latitude directly (offsets in metres turned into
degrees at the cluster's latitude), so that "inside this commune" is tested against the
very polygons that are written, in the CRS they are written in.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from data.world import FloatArray, IntArray, random_points_in

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0
MAX_TRIES = 40


def metres_to_degrees(
    lat: FloatArray, dx_m: FloatArray, dy_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Turn east/north offsets in metres into longitude/latitude offsets at ``lat``."""
    dlon = dx_m / (M_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat)))
    return dlon, dy_m / M_PER_DEG_LAT


def scatter_clusters(
    rng: np.random.Generator,
    lon: FloatArray,
    lat: FloatArray,
    sigma_m: FloatArray,
    counts: IntArray,
    container: BaseGeometry,
) -> tuple[FloatArray, FloatArray]:
    """Draw ``counts[i]`` gaussian points around each centre, all inside ``container``.

    Points that fall outside are drawn again (rejection sampling), so each cluster keeps
    its count; after ``MAX_TRIES`` rounds the rest are drawn uniformly in ``container``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    lon, lat : ndarray
        Cluster centres, degrees (WGS84).
    sigma_m : ndarray
        Standard deviation of each cluster, metres.
    counts : ndarray
        Number of points per cluster.
    container : shapely geometry
        Polygon(s) in lon/lat every point must fall strictly inside.

    Returns
    -------
    tuple of ndarray
        Longitudes and latitudes, grouped by cluster in input order.
    """
    shapely.prepare(container)
    idx = np.repeat(np.arange(lon.size), counts)
    out_lon, out_lat = np.empty(idx.size), np.empty(idx.size)
    todo = np.arange(idx.size)
    for _ in range(MAX_TRIES):
        if todo.size == 0:
            break
        c = idx[todo]
        dx = rng.normal(size=todo.size) * sigma_m[c]
        dy = rng.normal(size=todo.size) * sigma_m[c]
        dlon, dlat = metres_to_degrees(lat[c], dx, dy)
        plon, plat = lon[c] + dlon, lat[c] + dlat
        ok = shapely.contains_xy(container, plon, plat)
        out_lon[todo[ok]], out_lat[todo[ok]] = plon[ok], plat[ok]
        todo = todo[~ok]
    if todo.size:
        out_lon[todo], out_lat[todo] = random_points_in(rng, container, todo.size)
    return out_lon, out_lat


def apartment_weights(rng: np.random.Generator, total: int, share: float) -> IntArray:
    """Weights (8-60 each) of apartment blocks holding about ``share`` of ``total``.

    The sum never exceeds ``share * total``, so the rest can be single households.
    """
    budget = int(share * total)
    weights = rng.integers(8, 61, size=max(0, budget // 34 + 1))
    weights = weights[np.cumsum(weights) <= budget]
    return weights.astype(np.int64)


def multinomial_counts(
    rng: np.random.Generator, total: int, size: FloatArray
) -> IntArray:
    """Split ``total`` among groups in proportion to ``size`` (random, exact total)."""
    if total <= 0 or size.size == 0:
        return np.zeros(size.size, dtype=np.int64)
    return rng.multinomial(total, size / size.sum()).astype(np.int64)


def along_lines(
    rng: np.random.Generator,
    lines: list[BaseGeometry],
    n: int,
    offset_m: float,
    to_lonlat: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    container: BaseGeometry,
) -> tuple[FloatArray, FloatArray]:
    """Draw ``n`` points along metric ``lines`` with a gaussian sideways offset.

    ``to_lonlat`` maps metric ``(x, y)`` arrays to lon/lat; points outside
    ``container`` (lon/lat) are drawn again.
    """
    lengths = np.array([ln.length for ln in lines])
    lon_out: list[FloatArray] = []
    lat_out: list[FloatArray] = []
    found = 0
    while found < n:
        m = 2 * (n - found) + 16
        which = rng.choice(len(lines), size=m, p=lengths / lengths.sum())
        at = rng.random(m) * lengths[which]
        pts = shapely.line_interpolate_point(np.asarray(lines, dtype=object)[which], at)
        x = shapely.get_x(pts) + rng.normal(size=m) * offset_m
        y = shapely.get_y(pts) + rng.normal(size=m) * offset_m
        lon, lat = to_lonlat(x, y)
        ok = shapely.contains_xy(container, lon, lat)
        lon_out.append(lon[ok])
        lat_out.append(lat[ok])
        found += int(ok.sum())
    return np.concatenate(lon_out)[:n], np.concatenate(lat_out)[:n]


def just_outside(
    rng: np.random.Generator, outline: BaseGeometry, n: int
) -> tuple[FloatArray, FloatArray]:
    """Draw ``n`` points 0.3-2.5 km outside ``outline`` (lon/lat): unassigned ones."""
    ring = outline.buffer(0.022).difference(outline.buffer(0.003))
    return random_points_in(rng, ring, n)
