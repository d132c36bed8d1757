"""Writing the coverage layers and the manifest of a demo region.

Shared by the synthetic province and the real-boundary build: both describe their area
as a :class:`~data.world.World`, and get the same operators and file formats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj

from data import network
from data.estimates import write_sites
from data.radio import Operator4G, grid_over, rsrp_raster
from data.speeds import write_speed_tiles
from data.world import World
from data.writer import manifest_text, write_raster, write_vector

H3_RESOLUTION = 9
TARGETS = {
    "fibre_household_pct": 90,
    "mobile_commune_pct": 100,
    "mobile_commune_household_pct": 95,
}
WGS84 = pyproj.CRS.from_epsg(4326)
WEB_MERCATOR = pyproj.CRS.from_epsg(3857)

Layer = dict[str, object]
Builder = Callable[[np.random.Generator, World, str], gpd.GeoDataFrame]


def write_layers(
    rng: np.random.Generator, world: World, out_dir: Path, pixel_scale: float = 1.0
) -> list[Layer]:
    """Write every synthetic layer into ``out_dir``; return their manifest entries.

    ``pixel_scale`` multiplies the 4G rasters' pixel sizes (the country's are coarser).

    The 4G site list and the measured-speed tiles (``data.speeds``, a
    ``kind = "measured"`` layer) come last, so that the other layers do not change
    with them.
    """
    return (
        _fibre_layers(rng, world, out_dir)
        + _mobile_4g_layers(rng, world, out_dir, pixel_scale)
        + _mobile_5g_layers(rng, world, out_dir)
        + [write_sites(rng, world, out_dir)]
        + [write_speed_tiles(rng, world, out_dir)]
    )


def _fibre_layers(rng: np.random.Generator, world: World, out_dir: Path) -> list[Layer]:
    """Write the fibre layers.

    VNPT served areas (GeoPackage, WGS84), Viettel routes (FlatGeobuf, UTM) and VNPT
    splitters (GeoJSON, WGS84).
    """
    specs: list[tuple[str, str, Builder, str, pyproj.CRS, bool]] = [
        (
            "vnpt-fibre-areas",
            "VNPT",
            network.fibre_areas,
            "vnpt_fibre_areas.gpkg",
            WGS84,
            False,
        ),
        (
            "viettel-fibre-routes",
            "Viettel",
            network.fibre_routes,
            "viettel_fibre_routes.fgb",
            world.crs,
            True,
        ),
        (
            "vnpt-fibre-splitters",
            "VNPT",
            network.fibre_splitters,
            "vnpt_fibre_splitters.geojson",
            WGS84,
            True,
        ),
    ]
    entries: list[Layer] = []
    for layer_id, operator, build, name, crs, reach in specs:
        write_vector(build(rng, world, operator), out_dir / name, crs)
        entry: Layer = {
            "id": layer_id,
            "kind": "fibre",
            "operator": operator,
            "path": name,
        }
        if reach:
            entry["service_distance_m"] = 250
        entries.append(entry)
    return entries


def _mobile_4g_layers(
    rng: np.random.Generator, world: World, out_dir: Path, pixel_scale: float
) -> list[Layer]:
    """Write the 4G RSRP rasters.

    Viettel in WGS84, VNPT in UTM, MobiFone in Web Mercator over the western 60 % of
    the area only.
    """
    specs = [
        (Operator4G("Viettel", -70.0, 0.45, 8_000.0), WGS84, 0.0025, 1.0),
        (Operator4G("VNPT", -72.0, 0.3, 12_000.0), world.crs, 250.0, 1.0),
        (Operator4G("MobiFone", -74.0, 0.22, 15_000.0), WEB_MERCATOR, 300.0, 0.6),
    ]
    entries: list[Layer] = []
    for op, crs, pixel, west_share in specs:
        grid = grid_over(world, crs, pixel * pixel_scale, west_share=west_share)
        name = f"{op.name.lower()}_4g_rsrp.tif"
        write_raster(out_dir / name, rsrp_raster(rng, world, grid, op), grid)
        entries.append(
            {
                "id": f"{op.name.lower()}-4g",
                "kind": "mobile",
                "operator": op.name,
                "technology": "4G",
                "path": name,
                "min_rsrp_dbm": -105,
            }
        )
    return entries


def _mobile_5g_layers(
    rng: np.random.Generator, world: World, out_dir: Path
) -> list[Layer]:
    """Write 5G coverage polygons around the biggest towns, in three formats."""
    specs = [
        ("Viettel", 0.3, 1.3, "viettel_5g.geojson"),
        ("VNPT", 0.15, 1.0, "vnpt_5g.parquet"),
        ("MobiFone", 0.07, 0.7, "mobifone_5g.fgb"),
    ]
    entries: list[Layer] = []
    for operator, town_share, factor, name in specs:
        frame = network.coverage_5g(rng, world, operator, town_share, factor)
        write_vector(frame, out_dir / name, WGS84)
        entries.append(
            {
                "id": f"{operator.lower()}-5g",
                "kind": "mobile",
                "operator": operator,
                "technology": "5G",
                "path": name,
            }
        )
    return entries


def write_manifest(
    out_dir: Path,
    *,
    name: str,
    source: str,
    communes: dict[str, object],
    households: dict[str, object],
    layers: list[Layer],
) -> Path:
    """Write ``region.toml`` (the contract of the design card) and return its path."""
    tables: dict[str, Mapping[str, object]] = {
        "region": {
            "name": name,
            "h3_resolution": H3_RESOLUTION,
            "synthetic": True,
            "source": source,
        },
        "communes": communes,
        "households": households,
        "targets": TARGETS,
    }
    path = out_dir / "region.toml"
    path.write_text(manifest_text(tables, layers), encoding="utf-8")
    return path
