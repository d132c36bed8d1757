"""The national demo region: Vietnam's real 2025 communes, census households carried.

``geodx demo --country`` builds it. The boundaries and the households per commune are
real (the 2019 census carried onto the 2025 communes with the rules of ``geodx counts``,
:mod:`geodx.carry`); where the households live inside each commune, and every network,
are synthetic and labelled so. Built in bounded memory: no union of all communes (the
world's outline is their convex hull, enough for the rasters' extents; hills are placed
per province), the 4G rasters at twice the province's pixel size, and geometries that
become invalid once projected are repaired with ``make_valid`` where they are made
(counted in ``carry_report.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from data.assemble import write_layers
from data.census import (
    CensusRow,
    Crosswalk,
    carry_households,
    legacy_names,
    normalise_name,
    read_census,
    read_crosswalk,
)
from data.errors import DemoInputError
from data.real import Clusters, place_households, write_carried
from data.world import (
    FloatArray,
    Settlements,
    World,
    assign_fibre,
    fibre_reach,
    pick_hills,
    road_network,
)
from data.writer import write_households, write_vector
from geodx.carry_io import (
    BOUNDARY_CODE_COLUMNS,
    BOUNDARY_NAME_COLUMNS,
    boundary_communes,
    pick_column,
)
from geodx.carry_scope import normalise_code, normalise_province
from geodx.io import read_vector

PIXEL_SCALE = 2.0  # the 4G rasters' pixels: 2x the province's (500 m, 0.005 deg, ...)
HILL_REACH = 5.0  # a hill weighs on pixels within 5 radii of its summit
# Provinces renamed since the 2019 census whose rows carry no province code: the
# name then says which old province a row is of (Thừa Thiên Huế became Thành phố
# Huế, code 46, on 2025-01-01).
RENAMED_PROVINCES = {"thừa thiên huế": "46"}
COUNTRY_NAME = "Việt Nam (ranh giới thật, hộ gia đình và hạ tầng mô phỏng / synthetic)"


@dataclass(frozen=True)
class Repairs:
    """What the build mended in its inputs, reported in ``carry_report.json``."""

    coded: list[str]  # communes without a code given the crosswalk's (source_id)
    invalid: int  # communes invalid in WGS84, made valid
    invalid_projected: int  # communes invalid once projected, made valid there
    renamed_rows: int  # census rows given their province's code by a renamed name


def build_country_region(
    out_dir: Path,
    *,
    boundaries: Path,
    households_table: Path,
    crosswalk: Path | None = None,
    seed: int = 2025,
) -> Path:
    """Build the national demo region into ``out_dir``; return its ``region.toml``.

    Raises
    ------
    InputFileError, MissingColumn, DemoInputError
        Unreadable files, missing columns, duplicate codes, no household matched.
    """
    table = read_crosswalk(crosswalk) if crosswalk is not None else None
    communes, code, name, coded, invalid = country_boundaries(boundaries, table)
    rows, renamed = census_rows(households_table)
    report = carry_households(
        rows,
        boundary_communes(communes, code, name),
        table,
        legacy_names() if table is not None else None,
    )
    if report.carried_households == 0:
        raise DemoInputError(
            f"{households_table}: no row matched a commune of {boundaries}"
        )
    world_rng, household_rng, layer_rng = np.random.default_rng(seed).spawn(3)
    lon, lat, weight, clusters = place_households(
        household_rng, communes, code, name, report.per_commune
    )
    peopled = communes[communes[code].isin(list(report.per_commune))]
    world, invalid_projected = country_world(world_rng, peopled, clusters)
    repairs = Repairs(coded, invalid, invalid_projected, renamed)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_vector(communes[[code, name, "geometry"]], out_dir / "communes.parquet", 4326)
    write_households(out_dir / "households.parquet", lon, lat, weight)
    del lon, lat, weight
    layers = write_layers(layer_rng, world, out_dir, PIXEL_SCALE)
    return write_carried(
        out_dir, communes, code, name, report, layers,
        boundaries=boundaries, households_table=households_table,
        region_name=COUNTRY_NAME,
        source=(
            f"real 2025 commune boundaries ({boundaries.name}) and census households "
            f"({households_table.name}) carried onto them; household positions and "
            f"networks synthetic (seed {seed}) / dữ liệu mô phỏng"
        ),
        extra_report={
            "repairs": {
                "communes_coded_from_crosswalk": repairs.coded,
                "communes_made_valid": repairs.invalid,
                "communes_made_valid_projected": repairs.invalid_projected,
                "rows_province_from_renamed_name": repairs.renamed_rows,
            },
        },
    )  # fmt: skip


def country_boundaries(
    path: Path, crosswalk: Crosswalk | None
) -> tuple[gpd.GeoDataFrame, str, str, list[str], int]:
    """Read the communes (WGS84); code the uncoded ones the crosswalk names; make valid.

    A commune without a code takes its ``source_id`` when the crosswalk lists that
    code as a 2025 commune of the same province with the same name (``ward_type``
    and ``ward_name`` when the name is missing too). Others without a code are
    dropped, as ``geodx counts`` drops them.

    Returns
    -------
    tuple
        Frame, code column, name column, the codes given, how many made valid.
    """
    frame = read_vector(path, role="boundaries")
    if frame.crs is None:
        raise DemoInputError(f"{path}: boundaries have no CRS")
    code = pick_column(list(frame.columns), None, BOUNDARY_CODE_COLUMNS, path)
    name = pick_column(list(frame.columns), None, BOUNDARY_NAME_COLUMNS, path)
    frame = frame.to_crs(4326)
    frame[code] = [normalise_code(v) for v in frame[code]]
    coded = _code_from_crosswalk(frame, code, name, crosswalk)
    frame = frame[frame[code].notna() & ~frame.geometry.is_empty].reset_index(drop=True)
    duplicated = frame[code][frame[code].duplicated()]
    if len(duplicated):
        raise DemoInputError(f"{path}: {code} {duplicated.iloc[0]!r} appears twice")
    frame[name] = frame[name].fillna("").astype(str)
    bad = ~frame.geometry.is_valid.to_numpy()
    if bad.any():
        frame.loc[bad, "geometry"] = shapely.make_valid(frame.geometry.to_numpy()[bad])
    return frame, code, name, coded, int(bad.sum())


def _code_from_crosswalk(
    frame: gpd.GeoDataFrame, code: str, name: str, crosswalk: Crosswalk | None
) -> list[str]:
    """Give uncoded communes the crosswalk's code for their source_id; return those."""
    needed = {"source_id", "province_code"}
    if crosswalk is None or not needed <= set(frame.columns):
        return []
    used = set(frame[code].dropna())
    given: list[str] = []
    for i in np.flatnonzero(frame[code].isna().to_numpy()):
        row = frame.iloc[i]
        candidate = normalise_code(row["source_id"])
        label = _label(row, name)
        if candidate is None or candidate in used or not label:
            continue
        same_name = normalise_name(crosswalk.new_names.get(candidate, "")) == (
            normalise_name(label)
        )
        province = normalise_code(row["province_code"], 2)
        if same_name and crosswalk.new_provinces.get(candidate) == province:
            frame.loc[frame.index[i], [code, name]] = [candidate, label]
            used.add(candidate)
            given.append(candidate)
    return given


def _label(row: pd.Series, name: str) -> str:
    """The commune's name, else its type and short name (``Xã`` ``Phượng Dực``)."""
    value = row.get(name)
    if isinstance(value, str) and value.strip():
        return value.strip()
    kind, short = row.get("ward_type"), row.get("ward_name")
    if isinstance(kind, str) and isinstance(short, str) and short.strip():
        return f"{kind.strip()} {short.strip()}"
    return ""


def census_rows(path: Path) -> tuple[list[CensusRow], int]:
    """The census rows; a row of a renamed province without a code gets its code."""
    rows = read_census(path)
    out: list[CensusRow] = []
    renamed = 0
    for row in rows:
        key = normalise_province(row.province_name or "")
        if row.province is None and key in RENAMED_PROVINCES:
            row = replace(row, province=RENAMED_PROVINCES[key])
            renamed += 1
        out.append(row)
    return out, renamed


def country_world(
    rng: np.random.Generator, communes: gpd.GeoDataFrame, clusters: Clusters
) -> tuple[World, int]:
    """The synthetic world over the peopled communes; and how many were made valid.

    No union of the country: the outline is the communes' convex hull (the rasters
    need only its extent), hills are picked in each province's own union.
    """
    crs = pyproj.CRS(communes.estimate_utm_crs())
    geoms = communes.to_crs(crs).geometry.to_numpy()
    bad = ~shapely.is_valid(geoms)
    geoms[bad] = shapely.make_valid(geoms[bad])
    outline = shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(geoms)))
    tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = (
        np.asarray(v, dtype=float) for v in tr.transform(clusters.lon, clusters.lat)
    )
    is_town = clusters.is_town.copy()
    if not is_town.any():
        is_town[np.argmax(clusters.households)] = True
    roads = road_network(rng, x[is_town], y[is_town]) if is_town.sum() > 1 else []
    hills = province_hills(rng, communes, geoms, x[is_town], y[is_town])
    fibre = assign_fibre(rng, x, y, is_town, roads, hills)
    reach = fibre_reach(rng, is_town)
    size = clusters.households.astype(float)
    settlements = Settlements(x, y, clusters.sigma_m, size, is_town, fibre, reach)
    world = World(crs, outline, settlements, roads, hills, hill_reach=HILL_REACH)
    return world, int(bad.sum())


def province_hills(
    rng: np.random.Generator,
    communes: gpd.GeoDataFrame,
    geoms: np.ndarray,
    towns_x: FloatArray,
    towns_y: FloatArray,
) -> FloatArray:
    """A few hill ranges in each province, far from every town (one union a province)."""
    if "province_code" in communes.columns:
        groups = communes["province_code"].fillna("").astype(str).to_numpy()
    else:
        groups = np.zeros(len(communes), dtype=str)
    out = [
        pick_hills(rng, _union(geoms[groups == g]), towns_x, towns_y)
        for g in sorted(set(groups))
    ]
    return np.concatenate(out) if out else np.empty((0, 3))


def _union(geoms: np.ndarray) -> shapely.Geometry:
    """One province's union; its communes' convex hull if GEOS cannot union them."""
    try:
        return shapely.union_all(geoms)
    except shapely.errors.GEOSException:
        return shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(geoms)))
