"""The synthetic province: outline, towns, villages, communes and districts.

Placed roughly where Đắk Lắk is (lon 107.5-109.4, lat 12.2-13.6), at its scale (about
20,000 km², ~150 communes in 15 districts). Built in UTM zone 49N, metres.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry import MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

from data.names import labelled, unique_names
from data.world import (
    FloatArray,
    Settlements,
    World,
    assign_fibre,
    fibre_reach,
    hill_factor,
    pick_hills,
    random_points_in,
    road_network,
)

METRIC_CRS = pyproj.CRS.from_epsg(32649)
CENTRE_LONLAT = (108.45, 12.9)
CITY_LONLAT = (108.05, 12.68)  # where the provincial capital sits
N_TOWNS = 14
N_VILLAGES = 1500
N_DISTRICTS = 15
COMMUNE_CODE_START = 24100  # GSO codes of Đắk Lắk start at 24xxx, in steps of 3
DISTRICT_CODE_START = 643


def build_world(rng: np.random.Generator) -> World:
    """Make the outline, towns, villages, roads and hills of the synthetic province."""
    to_metric = pyproj.Transformer.from_crs(4326, METRIC_CRS, always_xy=True)
    cx, cy = to_metric.transform(*CENTRE_LONLAT)
    theta = np.linspace(0.0, 2 * np.pi, 256, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 9):
        r += rng.uniform(0.0, 0.3 / k) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    outline = Polygon(
        np.column_stack(
            [cx + 100_000 * r * np.cos(theta), cy + 78_000 * r * np.sin(theta)]
        )
    )
    tx, ty, tsize = _towns(rng, outline, to_metric.transform(*CITY_LONLAT))
    roads = road_network(rng, tx, ty)
    hills = pick_hills(rng, outline, tx, ty)
    vx, vy, vsize = _villages(rng, outline, tx, ty, hills)
    x, y = np.concatenate([tx, vx]), np.concatenate([ty, vy])
    is_town = np.arange(x.size) < tx.size
    size = np.concatenate([tsize, vsize])
    sigma = np.where(
        is_town, 700 + 2600 * np.sqrt(size / tsize.max()), 200 + 160 * size
    )
    fibre = assign_fibre(rng, x, y, is_town, roads, hills)
    reach = fibre_reach(rng, is_town)
    settlements = Settlements(x, y, sigma, size, is_town, fibre, reach)
    return World(METRIC_CRS, outline, settlements, roads, hills)


def _towns(
    rng: np.random.Generator, outline: BaseGeometry, city: tuple[float, float]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Place the provincial capital, then towns at least 20 km apart, biggest first."""
    core = outline.buffer(-8_000)
    xs, ys = [float(city[0])], [float(city[1])]
    while len(xs) < N_TOWNS:
        px, py = random_points_in(rng, core, 1)
        if np.min(np.hypot(np.asarray(xs) - px[0], np.asarray(ys) - py[0])) > 20_000:
            xs.append(float(px[0]))
            ys.append(float(py[0]))
    size = np.sort(rng.lognormal(0.0, 0.5, N_TOWNS))[::-1]
    size[0] = size[1] * 4.0  # the capital is several times the next town
    return np.asarray(xs), np.asarray(ys), size


def _villages(
    rng: np.random.Generator,
    outline: BaseGeometry,
    tx: FloatArray,
    ty: FloatArray,
    hills: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Spread villages over the province, thinner in the hills, clear of towns."""
    x, y = random_points_in(rng, outline.buffer(-1_500), 4 * N_VILLAGES)
    keep = rng.random(x.size) < 1.0 - 0.7 * hill_factor(x, y, hills)
    d2 = (x[:, None] - tx[None, :]) ** 2 + (y[:, None] - ty[None, :]) ** 2
    keep &= d2.min(axis=1) > 6_000.0**2
    x, y = x[keep][:N_VILLAGES], y[keep][:N_VILLAGES]
    return x, y, rng.lognormal(0.0, 0.6, x.size)


def build_communes(rng: np.random.Generator, world: World) -> gpd.GeoDataFrame:
    """Voronoi communes clipped to the outline, with an enclave and a two-part commune.

    Returns
    -------
    GeoDataFrame
        In the world's metric CRS, with GSO-style columns ``ma_xa``, ``ten_xa``,
        ``ma_huyen``, ``ten_huyen`` and ``loai`` (Xã, Phường or Thị trấn).
    """
    s = world.settlements
    seeds = _commune_seeds(rng, world)
    cells = shapely.voronoi_polygons(
        MultiPoint(seeds), extend_to=world.outline.buffer(50_000), ordered=True
    )
    geoms = [g.intersection(world.outline) for g in shapely.get_parts(cells)]
    kinds = ["Xã"] * len(geoms)
    d_city = np.hypot(seeds[:, 0] - s.x[0], seeds[:, 1] - s.y[0])
    for i in np.flatnonzero(d_city < 2.2 * s.sigma_m[0]):
        kinds[i] = "Phường"
    town = _enclave_town(world, geoms)
    host = _add_enclave(geoms, kinds, Point(s.x[town], s.y[town]), s.sigma_m[town])
    seeds = np.vstack([seeds, [[s.x[town], s.y[town]]]])
    _add_exclave(rng, geoms, kinds, seeds, skip={host, len(geoms) - 1})
    frame = gpd.GeoDataFrame({"loai": kinds}, geometry=geoms, crs=world.crs)
    district = _districts(world, frame)
    district[-1] = district[host]  # the enclave belongs to its host's district
    return _codes_and_names(rng, frame, district)


def _commune_seeds(rng: np.random.Generator, world: World) -> FloatArray:
    """Seed communes on a jittered grid, denser in the capital (its urban wards)."""
    xmin, ymin, xmax, ymax = world.outline.bounds
    step = np.sqrt(world.outline.area / 150.0)
    gx, gy = np.meshgrid(np.arange(xmin, xmax, step), np.arange(ymin, ymax, step))
    gx = gx.ravel() + rng.uniform(-0.3, 0.3, gx.size) * step
    gy = gy.ravel() + rng.uniform(-0.3, 0.3, gy.size) * step
    keep = shapely.contains_xy(world.outline.buffer(-0.1 * step), gx, gy)
    s = world.settlements
    angle = np.linspace(0.0, 2 * np.pi, 9, endpoint=False) + rng.uniform(0, 1)
    ux = s.x[0] + 1.2 * s.sigma_m[0] * np.cos(angle)
    uy = s.y[0] + 1.2 * s.sigma_m[0] * np.sin(angle)
    gx, gy = gx[keep], gy[keep]
    far = np.hypot(gx - s.x[0], gy - s.y[0]) > 2.2 * s.sigma_m[0]
    xs = np.concatenate([[s.x[0]], ux, gx[far]])
    ys = np.concatenate([[s.y[0]], uy, gy[far]])
    return np.column_stack([xs, ys])


def _enclave_town(world: World, geoms: list[BaseGeometry]) -> int:
    """Find the small town (not one of the 3 biggest) deepest inside its commune."""
    s = world.settlements
    best, best_room = -1, -1.0
    for i in np.flatnonzero(s.is_town)[3:]:
        centre = Point(s.x[i], s.y[i])
        host = next(g for g in geoms if g.contains(centre))
        room = min(host.boundary.distance(centre), 2.5 * s.sigma_m[i])
        if room > best_room:
            best, best_room = int(i), room
    return best


def _add_enclave(
    geoms: list[BaseGeometry], kinds: list[str], centre: Point, sigma_m: float
) -> int:
    """Cut a town ward out of the commune around ``centre``; return the host's index."""
    host = next(i for i, g in enumerate(geoms) if g.contains(centre))
    radius = min(1.5 * sigma_m, 0.6 * geoms[host].boundary.distance(centre))
    disc = centre.buffer(radius, quad_segs=16)
    geoms[host] = geoms[host].difference(disc)
    geoms.append(disc)
    kinds.append("Thị trấn")
    return host


def _add_exclave(
    rng: np.random.Generator,
    geoms: list[BaseGeometry],
    kinds: list[str],
    seeds: FloatArray,
    skip: set[int],
) -> None:
    """Give one rural commune a detached second part inside a commune two cells away."""
    step = np.sqrt(np.median([g.area for g in geoms]))
    for a in rng.permutation(len(geoms)):
        if a in skip or kinds[a] != "Xã":
            continue
        d = np.hypot(seeds[:, 0] - seeds[a, 0], seeds[:, 1] - seeds[a, 1])
        for c in np.flatnonzero((d > 1.5 * step) & (d < 2.6 * step)):
            if c in skip or kinds[c] != "Xã" or not geoms[a].disjoint(geoms[c]):
                continue
            centre = Point(seeds[c])
            disc = centre.buffer(
                0.35 * geoms[c].boundary.distance(centre), quad_segs=16
            )
            if geoms[c].contains(disc) and disc.disjoint(geoms[a]):
                geoms[c] = geoms[c].difference(disc)
                geoms[a] = geoms[a].union(disc)
                return
    raise RuntimeError("no commune pair found for the two-part commune")


def _districts(world: World, frame: gpd.GeoDataFrame) -> np.ndarray:
    """Group communes into districts around the towns, plus one remote district."""
    s = world.settlements
    pts = frame.geometry.representative_point()
    px, py = pts.x.to_numpy(), pts.y.to_numpy()
    cx, cy = list(s.x[: N_DISTRICTS - 1]), list(s.y[: N_DISTRICTS - 1])
    far = np.argmax(np.min(np.hypot(px[:, None] - cx, py[:, None] - cy), axis=1))
    cx.append(float(px[far]))
    cy.append(float(py[far]))
    d = np.hypot(px[:, None] - np.asarray(cx), py[:, None] - np.asarray(cy))
    return np.asarray(np.argmin(d, axis=1))


def _codes_and_names(
    rng: np.random.Generator, frame: gpd.GeoDataFrame, district: np.ndarray
) -> gpd.GeoDataFrame:
    """Give communes GSO-style codes (by district, north to south) and names."""
    pts = frame.geometry.representative_point()
    order = np.lexsort((pts.x.to_numpy(), -pts.y.to_numpy(), district))
    frame = frame.iloc[order].reset_index(drop=True)
    district = district[order]
    names = unique_names(len(frame) + N_DISTRICTS, rng)
    town_names, commune_names = names[:N_DISTRICTS], names[N_DISTRICTS:]
    d_kind = ["Thành phố", "Thị xã", "Thị xã"] + ["Huyện"] * (N_DISTRICTS - 3)
    frame.insert(
        0, "ma_xa", [f"{COMMUNE_CODE_START + 3 * i:05d}" for i in range(len(frame))]
    )
    frame.insert(
        1,
        "ten_xa",
        [
            labelled(k, n)
            for k, n in zip(frame["loai"], commune_names[: len(frame)], strict=True)
        ],
    )
    frame.insert(
        2, "ma_huyen", [f"{DISTRICT_CODE_START + int(d):03d}" for d in district]
    )
    frame.insert(3, "ten_huyen", [labelled(d_kind[d], town_names[d]) for d in district])
    return frame
