"""What a partition is given: the region read once per process, cut down per partition.

A process reads a run's manifest, communes and layers once (:func:`region_of`) and keeps
them for its next partitions (``app.engine``). What reaches a partition (every answer
is still the exact per-household GEOS test):

- communes: those whose shape meets the bounding box of its households (:func:`assign`);
- polygons: those that meet that box; lines and points: the pieces
  (:func:`geodx.reach.network_pieces`) that meet the box grown by the service
  distance, in the CRS distances are measured in, which is chosen once for the region
  (as a single pass chooses it, from all households' WGS84 box) (:class:`CutLayer`);
- rasters, sector lists and measured tiles: the layer as a whole (rasters are read by
  window, sectors have their cut-off radius, tiles are looked up by key);
- the plan's distances: every fibre feature (the nearest one may be anywhere).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from app.pipeline import input_files
from geodx.contract_views import MARGIN_COLUMNS
from geodx.coverage import Assignment, assign_communes
from geodx.crs import reproject
from geodx.io import read_communes
from geodx.limits import Limits
from geodx.manifest import load_manifest
from geodx.manifest_specs import Manifest
from geodx.points import WGS84, HouseholdPoints
from geodx.reach import network_pieces
from layers.base import CoverageLayer, LayerAnswer, answer
from layers.measured import Tiles
from layers.registry import open_layer
from layers.sites import SiteLayer
from layers.vector import NetworkReach, ServedArea

# Features within the grown box are kept with this relative margin to spare (rounding).
_GROW = 1 + 1e-9


@dataclass(frozen=True)
class RegionFacts:
    """What every partition of a run shares: paths and facts, no data."""

    manifest: str
    crs: CRS  # the households' CRS (pickled as its definition)
    lnglat_bounds: tuple[float, float, float, float]  # all households, WGS84
    integral: bool  # every household weight of the region is whole
    limits: Limits
    utm: CRS  # the region's metric CRS (``app.pipeline.metric_crs``)
    threads: int = 2  # layers answered at once within a task


class _PinnedReach(NetworkReach):
    """A network's pieces near a partition, measured in the CRS the region chose."""

    def distance_crs(self, households: HouseholdPoints) -> CRS:  # noqa: ARG002
        """The region's choice, whatever the partition's households."""
        return self.crs


def _box(households: HouseholdPoints, crs: CRS, grow: float = 0.0) -> shapely.Polygon:
    x, y = households.xy(crs)
    g = grow * _GROW
    return shapely.box(x.min() - g, y.min() - g, x.max() + g, y.max() + g)


class CutLayer:
    """A layer opened once per process, cut down to what reaches each partition."""

    def __init__(self, layer: CoverageLayer, bounds: tuple[float, ...], utm: CRS):
        self.layer, self.utm = layer, utm
        self.tree: shapely.STRtree | None = None
        if isinstance(layer, NetworkReach):
            west, south, east, north = bounds
            probe = HouseholdPoints(
                np.array([west, east]), np.array([south, north]), np.ones(2), WGS84
            )
            self.crs = layer.distance_crs(probe)
            geoms = layer.geoms
            if self.crs != layer.crs:
                geoms = reproject(geoms, layer.crs, self.crs)
            self.geoms = network_pieces(np.asarray(geoms, dtype=object))
            self.tree = shapely.STRtree(self.geoms)
        elif isinstance(layer, ServedArea):
            self.crs, self.geoms = layer.crs, layer.geoms
            self.tree = shapely.STRtree(self.geoms)

    def near(self, households: HouseholdPoints) -> CoverageLayer:
        """The layer with only the features that reach ``households`` (non-empty)."""
        layer = self.layer
        if self.tree is None:
            return layer
        spec = layer.spec
        if isinstance(layer, NetworkReach):
            box = _box(households, self.crs, float(spec.service_distance_m))
            keep = np.sort(self.tree.query(box, predicate="intersects"))
            return _PinnedReach(
                spec, self.geoms[keep], self.crs, source=layer.source,
                metric_crs=self.utm,
            )  # fmt: skip
        keep = np.sort(
            self.tree.query(_box(households, self.crs), predicate="intersects")
        )
        return ServedArea(spec, self.geoms[keep], self.crs)


@dataclass
class Region:
    """A region's manifest, communes and layers, read once per process."""

    key: tuple[Any, ...]
    manifest: Manifest
    communes: gpd.GeoDataFrame
    tree: shapely.STRtree
    utm: CRS
    layers: dict[str, CutLayer]
    tiles: dict[str, Tiles]


_CACHE: list[Region] = []


def forget_region() -> None:
    """Drop this process's copy of the region (a run's end)."""
    _CACHE.clear()


def region_of(facts: RegionFacts, communes: gpd.GeoDataFrame | None = None) -> Region:
    """The region of ``facts``, read on first use in this process and kept.

    ``communes``: the communes already read (the local engine's own process).
    """
    manifest = load_manifest(Path(facts.manifest))
    # Kept while no input file changed (a Dask worker lives from one run to the next).
    stamps = tuple(
        (str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in input_files(manifest)
    )
    key = (stamps, facts.lnglat_bounds, facts.limits, facts.utm.srs)
    if _CACHE and _CACHE[0].key == key:
        return _CACHE[0]
    _CACHE.clear()
    limits = facts.limits
    if communes is None:
        communes = read_communes(manifest.communes, limits=limits)
    geoms = np.asarray(communes.geometry.values, dtype=object)
    utm = facts.utm
    layers = {
        spec.slug: CutLayer(
            open_layer(spec, metric_crs=utm, limits=limits), facts.lnglat_bounds, utm
        )
        for spec in manifest.layers
    }
    tiles = {s.slug: Tiles.open(s, limits=limits) for s in manifest.measured}
    region = Region(key, manifest, communes, shapely.STRtree(geoms), utm, layers, tiles)
    _CACHE.append(region)
    return region


def region_frozen(facts: RegionFacts) -> Region:
    """:func:`region_of`, its objects then left out of the collector's walks.

    For a process that runs task after task and is not forked from the run (a Dask
    worker): a full collection walks every tracked object, and a country's region is
    about 830,000 of them (network pieces, polygons, their arrays' owners), 0.2 s a
    walk, 47 walks in a national run's two workers (9.8 s of CPU). Once a region is
    read the collector forgets every object alive (``gc.freeze``); when another
    region replaces it, the frozen objects are handed back first (``gc.unfreeze``),
    so what the old region leaves in cycles is still collected.
    """
    kept = _CACHE[0] if _CACHE else None
    region = region_of(facts)
    if region is not kept:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
    return region


def assign(region: Region, households: HouseholdPoints) -> Assignment:
    """Each household's commune (global index), from the communes that meet its box."""
    box = _box(households, region.communes.crs)
    near = np.sort(region.tree.query(box, predicate="intersects"))
    if len(near) == 0:
        n = len(households)
        return Assignment(np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool))
    got = assign_communes(households, region.communes.iloc[near])
    commune = np.r_[near, -1][got.commune]  # -1 (none) picks the trailing -1
    return Assignment(commune=commune.astype(np.int64), overlap=got.overlap)


def answer_layer(
    layer: CutLayer, households: HouseholdPoints
) -> tuple[LayerAnswer, str]:
    """The layer's answer for ``households`` (only the features that reach them)."""
    near = layer.near(households)
    got = answer(near, households, tuple(MARGIN_COLUMNS.values()))
    return got, near.source


def cost_rank(layer: CutLayer) -> int:
    """0 for sector lists, 1 networks, 2 polygons, 3 the rest (rasters, tiles)."""
    kinds = (SiteLayer, NetworkReach, ServedArea)
    return next((i for i, k in enumerate(kinds) if isinstance(layer.layer, k)), 3)
