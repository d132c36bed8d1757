"""A run's single pass: every household's layer answers at once, folded into views.

``geodx run --engine single`` computes this way, a scenario folds its answers with
:func:`fold`, and the partitioned engine (``app.engine``) runs the same fold and
measured views on each partition. :class:`StageClock` times a run's stages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geodx.contract_views import (
    MARGIN_COLUMNS,
    MEASURED_BELOW_COLUMN,
    measured_columns,
)
from geodx.counts import estimate_households
from geodx.coverage import Assignment, Overlay, assign_communes, household_views
from geodx.crs import reproject
from geodx.grid import points_to_cells
from geodx.io import read_communes, read_households
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import CountsSpec, LayerSpec, Manifest
from geodx.points import WGS84, HouseholdPoints
from geodx.spread import Estimate
from geodx.utm_zone import estimate_utm_crs
from geodx.validate import check_households_in_region
from layers.base import LayerAnswer, answer
from layers.measured import Tiles
from layers.registry import is_raster, open_layer

Progress = Callable[[str], None]


class StageClock:
    """A run's stages timed (``timings``: seconds by name), each announced first."""

    def __init__(self, progress: Progress | None) -> None:
        self.timings: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as stage ``name`` (added to an earlier one's time)."""
        if self.progress:
            self.progress(name)
        start = time.perf_counter()
        yield
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


def _layer_task(
    spec: LayerSpec, households: HouseholdPoints, utm: Any, limits: Limits
) -> tuple[LayerAnswer, str, float]:
    """Open a layer and answer at its threshold, at the margins and indoors."""
    start = time.perf_counter()
    layer = open_layer(spec, metric_crs=utm, limits=limits)
    got = answer(layer, households, tuple(MARGIN_COLUMNS.values()))
    return got, layer.source, time.perf_counter() - start


def overlay(
    manifest: Manifest,
    communes: gpd.GeoDataFrame,
    households: HouseholdPoints,
    clock: StageClock,
    *,
    utm: Any,
    workers: int = 2,
    limits: Limits = DEFAULT_LIMITS,
) -> Overlay:
    """Answer every per-household question of the manifest.

    Layers run in a small thread pool: shapely, pyproj, numpy and polars release the
    GIL in their heavy loops, so two cores do two layers at once.
    """
    households.xy(communes.crs)  # warm the transform cache before threads share it
    with ThreadPoolExecutor(max_workers=workers) as pool:
        lng, lat = households.lng_lat
        cells_job = pool.submit(
            points_to_cells, lat, lng, resolution=manifest.h3_resolution
        )
        # Vector layers first (networks are the slowest), rasters last: the pool
        # ends with short jobs and both cores stay busy to the end.
        first = sorted(manifest.layers, key=is_raster)
        futures = {
            spec.id: pool.submit(_layer_task, spec, households, utm, limits)
            for spec in first
        }
        jobs = [futures[spec.id] for spec in manifest.layers]
        with clock.stage("assign communes"):
            assignment = assign_communes(households, communes)
        with clock.stage("index households on H3"):
            cells = cells_job.result()
        answers: dict[str, LayerAnswer] = {}
        sources: dict[str, str] = {}
        for spec, job in zip(manifest.layers, jobs, strict=True):
            if clock.progress:
                clock.progress(f"layer {spec.id}")
            answers[spec.slug], sources[spec.slug], seconds = job.result()
            clock.timings[f"layer {spec.id} (thread)"] = seconds
    return fold(manifest.layers, households, assignment, cells, answers, sources)


def fold(
    layers: Sequence[LayerSpec],
    households: HouseholdPoints,
    assignment: Assignment,
    cells: np.ndarray,
    answers: dict[str, LayerAnswer],
    sources: dict[str, str],
) -> Overlay:
    """The layers' answers (by slug) OR-ed into the indicators, with every view.

    A scenario (``app.scenarios``) folds the baseline's answers and its new layers'
    with this same function, so it equals a run with those layers in the manifest.
    """
    n = len(households)
    indicators, per_layer = _indicators(layers, answers, n)
    shifted = {slug: got.shifted for slug, got in answers.items()}
    indoor = {s: got.indoor for s, got in answers.items() if got.indoor is not None}
    views, columns = household_views(layers, per_layer, shifted, indoor, n)
    return Overlay(
        households, assignment, cells, indicators, per_layer, sources, views, columns
    )


def _indicators(
    layers: Sequence[LayerSpec], answers: dict[str, LayerAnswer], n: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The indicators (fibre, mobile, mobile_5g) and each layer's answer per household."""
    indicators = {k: np.zeros(n, dtype=bool) for k in ("fibre", "mobile", "mobile_5g")}
    per_layer: dict[str, np.ndarray] = {}
    for spec in layers:
        covered = per_layer[spec.slug] = answers[spec.slug].covered
        if spec.kind == "fibre":
            indicators["fibre"] |= covered
        else:
            indicators["mobile"] |= covered
            if spec.technology == "5G":
                indicators["mobile_5g"] |= covered
    return indicators, per_layer


def prepare(
    manifest: Manifest,
    *,
    progress: Progress | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[gpd.GeoDataFrame, np.ndarray, Overlay, Estimate | None]:
    """A run's computation without writing: communes, their WGS84 shapes, the overlay."""
    return compute(manifest, StageClock(progress), limits)


def compute(
    manifest: Manifest, clock: StageClock, limits: Limits = DEFAULT_LIMITS
) -> tuple[gpd.GeoDataFrame, np.ndarray, Overlay, Estimate | None]:
    """Read communes and households and answer every layer's question per household."""
    with clock.stage("read communes"):
        communes = read_communes(manifest.communes, limits=limits)
        geoms = np.asarray(communes.geometry.values, dtype=object)
        communes_wgs84 = reproject(geoms, communes.crs, WGS84)
    utm = estimate_utm_crs(communes_wgs84)  # the region's metric CRS
    estimate: Estimate | None = None
    with clock.stage("read households"):
        spec = manifest.households
        if isinstance(spec, CountsSpec):
            spread, matched = estimate_households(
                spec, communes, utm=utm, limits=limits
            )
            households = spread.points
            estimate = Estimate.of(spec, spread, matched, root=manifest.root)
        else:
            households = read_households(spec, limits=limits)
            bounds = tuple(shapely.total_bounds(communes_wgs84).tolist())
            check_households_in_region(households, bounds, path=spec.path)
    with clock.stage("overlay (wall)"):
        result = overlay(manifest, communes, households, clock, utm=utm, limits=limits)
    if manifest.measured:
        with clock.stage("measured speeds"):
            add_measured(manifest, result, limits)
    return communes, communes_wgs84, result, estimate


def add_measured(
    manifest: Manifest,
    result: Overlay,
    limits: Limits,
    tiles: dict[str, Tiles] | None = None,
) -> None:
    """Add the measured layers' views; no indicator or layer figure changes.

    ``tiles``: the measured layers already open, by slug (else each file is read).
    """
    n = len(result.households)
    below = np.zeros(n, dtype=bool)
    for spec in manifest.measured:
        opened = tiles.get(spec.slug) if tiles else None
        layer = opened or Tiles.open(spec, limits=limits)
        got = layer.classify(result.households)
        stem = f"measured_{spec.slug}"
        result.views[f"{stem}_households"] = got["above"]
        for part in ("below", "too_few_tests", "untested"):
            result.views[f"{stem}_{part}_households"] = got[part]
        below |= got["below"]
    result.views[MEASURED_BELOW_COLUMN] = below & result.indicators["mobile"]
    result.columns += measured_columns([spec.slug for spec in manifest.measured])
