"""The synthetic demo province: every file of a region folder, from a seed.

The same seed and size give byte-identical files. The province, its communes and its
networks depend on the seed only; the number of households changes only the households.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from data.assemble import write_layers, write_manifest
from data.errors import DemoInputError
from data.estimates import DENSITY_NAME, write_counts, write_density
from data.names import REGION_NAME
from data.placement import (
    along_lines,
    apartment_weights,
    just_outside,
    multinomial_counts,
    scatter_clusters,
)
from data.province import build_communes, build_world
from data.world import FloatArray, IntArray, World, random_points_in
from data.writer import write_households, write_vector

MIN_HOUSEHOLDS = 100
TOWN_SHARE = 0.32  # of clustered households, in towns; the rest live in villages
SCATTER_SHARE = 0.025  # lone farmsteads anywhere
ROADSIDE_SHARE = 0.06  # houses strung along the roads
APARTMENT_SHARE = 0.02  # households in apartment blocks (points with weight 8-60)


def build_synthetic_region(
    out_dir: Path, *, seed: int = 2025, households: int = 500_000, counts: bool = False
) -> Path:
    """Build the synthetic demo province into ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        Folder to write into (created if missing; files in it are overwritten).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same files.
    households : int
        Total household weight, at least 100. About 1 in 2,500 lies just outside the
        province, so that unassigned households are exercised.
    counts : bool
        Write the households as a per-commune counts table spread over ``density.tif``
        (the same households, counted per commune) instead of points.

    Raises
    ------
    DemoInputError
        When ``households`` is below 100.

    Returns
    -------
    Path
        The written ``region.toml``.
    """
    if households < MIN_HOUSEHOLDS:
        raise DemoInputError(
            f"households was {households}; expected >= {MIN_HOUSEHOLDS}"
        )
    world_rng, commune_rng, household_rng, layer_rng = np.random.default_rng(
        seed
    ).spawn(4)
    world = build_world(world_rng)
    communes = build_communes(commune_rng, world)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_vector(communes, out_dir / "communes.gpkg", 4326)
    outline = _outline_lonlat(world)
    lon, lat, weight = synthetic_households(household_rng, world, outline, households)
    if counts:
        table = write_counts(out_dir, communes, lon, lat, weight)
    else:
        write_households(out_dir / "households.parquet", lon, lat, weight)
        write_density(out_dir / DENSITY_NAME, lon, lat, weight)
        table = {
            "path": "households.parquet",
            "lon": "lon",
            "lat": "lat",
            "weight": "households",
        }
    layers = write_layers(layer_rng, world, out_dir)
    kind = "households counted per commune" if counts else "households"
    source = (
        f"geodx demo generator: synthetic province (seed {seed}, "
        f"{households} {kind}); not real data / dữ liệu mô phỏng"
    )
    return write_manifest(
        out_dir,
        name=REGION_NAME,
        source=source,
        communes={
            "path": "communes.gpkg",
            "code": "ma_xa",
            "name": "ten_xa",
            "district_code": "ma_huyen",
            "district_name": "ten_huyen",
        },
        households=table,
        layers=layers,
    )


def _outline_lonlat(world: World) -> BaseGeometry:
    """Transform the outline to WGS84 vertex by vertex, as the communes are."""
    tr = pyproj.Transformer.from_crs(world.crs, 4326, always_xy=True)
    return shapely.transform(
        world.outline, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))
    )


def synthetic_households(
    rng: np.random.Generator, world: World, outline: BaseGeometry, total: int
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Household points whose weights add up to ``total`` exactly.

    Returns
    -------
    tuple of ndarray
        ``lon``, ``lat`` (WGS84) and ``weight`` (households at the point).
    """
    s = world.settlements
    lon_c, lat_c = world.to_lonlat(s.x, s.y)
    n_out = max(3, total // 2_500)
    apartments = apartment_weights(rng, total - n_out, APARTMENT_SHARE)
    singles = total - n_out - int(apartments.sum())
    n_scatter = round(SCATTER_SHARE * singles)
    n_road = round(ROADSIDE_SHARE * singles)
    towns = s.is_town
    share = np.where(
        towns,
        TOWN_SHARE * s.size / s.size[towns].sum(),
        (1 - TOWN_SHARE) * s.size / s.size[~towns].sum(),
    )
    counts = multinomial_counts(rng, singles - n_scatter - n_road, share)
    parts = [scatter_clusters(rng, lon_c, lat_c, s.sigma_m, counts, outline)]
    in_town = multinomial_counts(rng, apartments.size, np.where(towns, s.size, 0.0))
    parts.append(scatter_clusters(rng, lon_c, lat_c, 0.5 * s.sigma_m, in_town, outline))
    parts.append(along_lines(rng, world.roads, n_road, 150.0, world.to_lonlat, outline))
    parts.append(random_points_in(rng, outline, n_scatter))
    parts.append(just_outside(rng, outline, n_out))
    lon = np.concatenate([p[0] for p in parts])
    lat = np.concatenate([p[1] for p in parts])
    weight = np.ones(lon.size, dtype=np.int64)
    start = int(counts.sum())
    weight[start : start + apartments.size] = apartments
    return lon, lat, weight
