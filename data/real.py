"""A demo region on real commune boundaries with real household counts.

The boundaries and the number of households per commune are real (after carrying census
counts to the boundary communes, see :mod:`geodx.carry`); where the households
live inside each commune, and every network, are synthetic, and labelled so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from data.assemble import Layer, write_layers, write_manifest
from data.census import (
    CarryReport,
    carry_households,
    legacy_names,
    read_census,
    read_crosswalk,
)
from data.errors import DemoInputError
from data.placement import (
    apartment_weights,
    multinomial_counts,
    scatter_clusters,
)
from data.world import (
    FloatArray,
    IntArray,
    Settlements,
    World,
    assign_fibre,
    fibre_reach,
    pick_hills,
    random_points_in,
    road_network,
)
from data.writer import write_csv, write_households, write_json, write_vector
from geodx.carry_io import boundary_communes, read_boundaries

REPORT_NAME = "carry_report.json"
NOT_PLACED_NAME = "households_not_placed.csv"
NOT_PLACED_HEADER = ("province", "district", "old_code", "name", "households", "reason")
SCATTER_SHARE = 0.06
TOWN_MIN_HOUSEHOLDS = 1_500
MAIN_SHARE_URBAN = 0.6  # of a ward's households, in its centre
MAIN_SHARE_RURAL = 0.25  # of a commune's, in its centre (the rest in villages)


@dataclass(frozen=True)
class Clusters:
    """Household clusters placed in the communes (lon/lat centres)."""

    lon: FloatArray
    lat: FloatArray
    sigma_m: FloatArray
    households: IntArray
    is_town: np.ndarray


def build_real_region(
    out_dir: Path,
    *,
    boundaries: Path,
    households_table: Path,
    crosswalk: Path | None = None,
    seed: int = 2025,
    code_column: str | None = None,
    name_column: str | None = None,
    table_code_column: str | None = None,
    table_count_column: str | None = None,
) -> Path:
    """Build a demo region on real boundaries, with census household counts.

    Parameters
    ----------
    out_dir : Path
        Folder to write into (created if missing).
    boundaries : Path
        Commune polygons (any GDAL vector file or GeoParquet) with a code and a name
        column (found among ``ward_code``/``commune_code``/``ma_xa`` and
        ``official_name``/``commune_name``/``ten_xa`` unless given).
    households_table : Path
        CSV or Parquet: households per commune (``hh_total``/``households``) with a
        commune code (``ward_code_2024``/``ward_code``/...) and a name.
    crosswalk : Path, optional
        Old -> new commune codes (``old_ward_code``, ``new_ward_code``, ``is_default``,
        ``new_ward_name``), when the table lists older communes than the boundaries.
    seed : int
        Seed of ``numpy.random.default_rng``.
    code_column, name_column, table_code_column, table_count_column : str, optional
        Column names, when the defaults are not found.

    Returns
    -------
    Path
        The written ``region.toml``. ``carry_report.json`` beside it tells how many
        census households were placed, how many of other provinces were left out, and
        ``households_not_placed.csv`` lists the rows of the boundaries' provinces
        that matched no commune (province, district, old code and name, households,
        reason). A row lands only on a commune of its own province (see
        :mod:`geodx.carry_scope`).

    Raises
    ------
    InputFileError, MissingColumn, DemoInputError
        Unreadable files, missing columns, duplicate codes, no household matched.
    """
    communes, code, name = read_boundaries(boundaries, code_column, name_column)
    rows = read_census(
        households_table, code_column=table_code_column, count_column=table_count_column
    )
    table = read_crosswalk(crosswalk) if crosswalk is not None else None
    legacy = legacy_names() if table is not None else None
    report = carry_households(
        rows, boundary_communes(communes, code, name), table, legacy
    )
    if report.carried_households == 0:
        raise DemoInputError(
            f"{households_table}: no row matched a commune of {boundaries}"
            + (
                f" ({report.outside_households:,} households of other provinces)"
                if report.outside
                else ""
            )
        )
    world_rng, household_rng, layer_rng = np.random.default_rng(seed).spawn(3)
    lon, lat, weight, clusters = place_households(
        household_rng, communes, code, name, report.per_commune
    )
    peopled = communes[communes[code].isin(list(report.per_commune))]
    world = real_world(world_rng, peopled, clusters)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_vector(communes[[code, name, "geometry"]], out_dir / "communes.parquet", 4326)
    write_households(out_dir / "households.parquet", lon, lat, weight)
    layers = write_layers(layer_rng, world, out_dir)
    return write_carried(
        out_dir, communes, code, name, report, layers,
        boundaries=boundaries, households_table=households_table,
        region_name=_region_name(communes),
        source=(
            f"real commune boundaries ({boundaries.name}) and household counts "
            f"({households_table.name}); household positions and networks synthetic "
            f"(seed {seed}) / dữ liệu mô phỏng"
        ),
    )  # fmt: skip


def write_carried(
    out_dir: Path,
    communes: gpd.GeoDataFrame,
    code: str,
    name: str,
    report: CarryReport,
    layers: list[Layer],
    *,
    boundaries: Path,
    households_table: Path,
    region_name: str,
    source: str,
    extra_report: dict[str, Any] | None = None,
) -> Path:
    """Write the carry report, the rows not placed and ``region.toml``; the manifest.

    For a region built on carried counts, its communes and households written already.
    ``extra_report``: more members of ``carry_report.json``, after the others.
    """
    empty = sorted(set(communes[code]) - set(report.per_commune))
    write_json(
        out_dir / REPORT_NAME,
        {
            **report_json(report, boundaries, households_table),
            "communes": len(communes),
            "communes_without_households": empty,
            **(extra_report or {}),
        },
    )
    write_not_placed(out_dir / NOT_PLACED_NAME, report)
    return write_manifest(
        out_dir,
        name=region_name,
        source=source,
        communes={"path": "communes.parquet", "code": code, "name": name},
        households={
            "path": "households.parquet",
            "lon": "lon",
            "lat": "lat",
            "weight": "households",
        },
        layers=layers,
    )


def own_areas(communes: gpd.GeoDataFrame) -> list[BaseGeometry]:
    """Each commune minus the communes overlapping it, so a point has one commune."""
    geoms = communes.geometry.to_numpy()
    left, right = communes.sindex.query(geoms, predicate="intersects")
    out = []
    for i, geom in enumerate(geoms):
        others = right[(left == i) & (right != i)]
        own = geom.difference(shapely.union_all(geoms[others])) if others.size else geom
        out.append(own if own.area > 0.01 * geom.area else geom)
    return out


def place_households(
    rng: np.random.Generator,
    communes: gpd.GeoDataFrame,
    code: str,
    name: str,
    totals: dict[str, int],
) -> tuple[FloatArray, FloatArray, IntArray, Clusters]:
    """Place ``totals[code]`` households in each commune, clustered, strictly inside it.

    Returns
    -------
    tuple
        ``lon``, ``lat``, ``weight`` arrays and the clusters used.
    """
    areas = own_areas(communes)
    points: list[tuple[FloatArray, FloatArray, IntArray]] = []
    clusters: list[Clusters] = []
    for i, (c, n) in enumerate(zip(communes[code], communes[name], strict=True)):
        total = totals.get(c, 0)
        if total > 0:
            urban = n.strip().lower().startswith("phường")
            pts, cl = _place_in_commune(rng, areas[i], total, urban)
            points.append(pts)
            clusters.append(cl)
    lon = np.concatenate([p[0] for p in points])
    lat = np.concatenate([p[1] for p in points])
    weight = np.concatenate([p[2] for p in points])
    merged = Clusters(
        *(
            np.concatenate([getattr(cl, f) for cl in clusters])
            for f in Clusters.__dataclass_fields__
        )
    )
    return lon, lat, weight, merged


def _place_in_commune(
    rng: np.random.Generator, area: BaseGeometry, total: int, urban: bool
) -> tuple[tuple[FloatArray, FloatArray, IntArray], Clusters]:
    """Households of one commune: a centre, villages, apartments (wards), scatter."""
    apartments = apartment_weights(rng, total, 0.02 if urban else 0.0)
    singles = total - int(apartments.sum())
    n_scatter = round(SCATTER_SHARE * singles)
    n_villages = int(np.clip(total // 300, 1, 40))
    centre = area.point_on_surface()
    vlon, vlat = random_points_in(rng, area, n_villages)
    lon = np.concatenate([[centre.x], vlon])
    lat = np.concatenate([[centre.y], vlat])
    main = MAIN_SHARE_URBAN if urban else MAIN_SHARE_RURAL
    villages = rng.lognormal(0.0, 0.6, n_villages)
    size = np.concatenate([[main], (1.0 - main) * villages / villages.sum()])
    counts = multinomial_counts(rng, singles - n_scatter, size)
    sigma = np.clip(150.0 + 8.0 * np.sqrt(counts), 150.0, 900.0)
    sigma[0] = np.clip(250.0 + 10.0 * np.sqrt(counts[0]), 300.0, 2_500.0)
    parts = [scatter_clusters(rng, lon, lat, sigma, counts, area)]
    one = np.array([apartments.size])
    parts.append(scatter_clusters(rng, lon[:1], lat[:1], 0.5 * sigma[:1], one, area))
    parts.append(random_points_in(rng, area, n_scatter))
    weight = np.ones(singles + apartments.size, dtype=np.int64)
    weight[int(counts.sum()) : int(counts.sum()) + apartments.size] = apartments
    is_town = np.zeros(lon.size, dtype=bool)
    is_town[0] = urban or counts[0] >= TOWN_MIN_HOUSEHOLDS
    points = (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        weight,
    )
    return points, Clusters(lon, lat, sigma, counts, is_town)


def real_world(
    rng: np.random.Generator, communes: gpd.GeoDataFrame, clusters: Clusters
) -> World:
    """Make the synthetic world (roads, hills, networks) over ``communes``.

    Pass the communes that have households: the networks are planned for them.
    """
    crs = pyproj.CRS(communes.estimate_utm_crs())
    outline = shapely.union_all(communes.to_crs(crs).geometry.to_numpy())
    tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = (
        np.asarray(v, dtype=float) for v in tr.transform(clusters.lon, clusters.lat)
    )
    is_town = clusters.is_town.copy()
    if not is_town.any():
        is_town[np.argmax(clusters.households)] = True
    size = clusters.households.astype(float)
    roads = road_network(rng, x[is_town], y[is_town]) if is_town.sum() > 1 else []
    hills = pick_hills(rng, outline, x[is_town], y[is_town])
    fibre = assign_fibre(rng, x, y, is_town, roads, hills)
    reach = fibre_reach(rng, is_town)
    settlements = Settlements(x, y, clusters.sigma_m, size, is_town, fibre, reach)
    return World(crs, outline, settlements, roads, hills)


def report_json(
    report: CarryReport, boundaries: Path, table: Path
) -> dict[str, object]:
    """Turn the carry report into JSON-ready data."""
    return {
        "synthetic_positions": True,
        "boundaries": boundaries.name,
        "households_table": table.name,
        "census_rows": report.census_rows,
        "census_households": report.census_households,
        "region_households": report.region_households,
        "carried_households": report.carried_households,
        "not_placed_households": report.not_placed_households,
        "not_placed_rows": len(report.not_placed),
        "not_placed_list": NOT_PLACED_NAME,
        "outside_households": report.outside_households,
        "outside_by_province": report.outside,
        "rows_by_rule": report.rows_by_rule,
        "per_commune": report.per_commune,
    }


def write_not_placed(path: Path, report: CarryReport) -> None:
    """Write the census rows of the region's provinces that were not placed."""
    rows = [
        (r.province, r.district, r.code, r.name, r.households, r.reason)
        for r in report.not_placed
    ]
    write_csv(path, NOT_PLACED_HEADER, rows)


def _region_name(communes: gpd.GeoDataFrame) -> str:
    """Name the region after its province, labelled as partly synthetic."""
    label = "ranh giới thật, hộ gia đình và hạ tầng mô phỏng / synthetic"
    if "province_name" in communes.columns and communes["province_name"].nunique() == 1:
        return f"Tỉnh {communes['province_name'].iloc[0]} ({label})"
    return f"Vùng demo ({label})"
