"""The partitioned engine: households split by an H3 parent cell, two partitions at a time.

``geodx run --engine local`` (the default) and ``--engine dask`` (``app.dask_engine``)
run the same task, :func:`app.partition_task.run_partition`, on each partition file
(``app.spill``): it answers every per-household question for the partition's
households only, against the communes and the layer features that reach them, and
returns sums (:class:`geodx.partition.RowSums`) and the partition's plan rows. A task
carries paths, a parent cell and the region's facts, never households or geometries;
a process reads the manifest, communes and layers once and keeps them for its next
tasks (``app.partition_region``: what reaches a partition). A region of at most
:data:`geodx.partition.MAX_POINTS` household points is one partition, read whole and
run from memory (``app.small``). The local engine runs the partitions in forked worker
processes, two at a time on two cores (``app.local_pool``; ``GEODX_PARTITION_WORKERS=1``:
one after the other in this process).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pyarrow as pa
import shapely
from pyproj import CRS

from app.local_pool import file_size, partition_workers, run_forked
from app.partition_region import (
    Region,
    RegionFacts,
    forget_region,
    region_of,
)
from app.partition_task import (
    PartitionResult,
    PartitionTask,
    layer_pool,
    measured_fibre,
    merge_results,
    release_memory,
    run_households,
    run_partition,
)
from app.pipeline import metric_crs
from app.small import lnglat_bounds, small_households, start_cells
from app.spill import spill_households
from geodx.counts import estimate_households
from geodx.crs import reproject
from geodx.io import read_communes
from geodx.limits import Limits
from geodx.manifest_specs import (
    CountsSpec,
    HouseholdsSpec,
    Manifest,
)
from geodx.partition import (
    MAX_POINTS,
    RunSums,
    parent_cells,
)
from geodx.points import WGS84, HouseholdPoints
from geodx.spread import Estimate
from layers.sites import SiteLayer
from layers.vector import warm_nearest

if TYPE_CHECKING:
    from app.drawing import MapDrawing


@dataclass
class Computed:
    """A partitioned run's inputs and sums, ready to be written."""

    communes: gpd.GeoDataFrame
    communes_wgs84: np.ndarray
    run: RunSums
    plan: pa.Table
    estimate: Estimate | None
    utm: CRS
    partitions: int
    resolution: int


def compute_partitioned(
    manifest: Manifest,
    clock: Any,
    limits: Limits,
    *,
    scratch: Path,
    engine: str = "local",
    scheduler: str | None = None,
    max_points: int = MAX_POINTS,
    resolution: int | None = None,
    drawing: MapDrawing | None = None,
    workers: int | None = None,
) -> Computed | None:
    """Split the households, run every partition, merge their sums.

    ``clock``: the run's stage clock (``app.pipeline``); ``scratch``: a folder the
    partition files go into (shared storage when the workers are other machines).
    ``None`` when there are no households at all (the single pass writes that run).
    ``drawing``: the run's map layers, started once the region's layers are read
    (``app.drawing``; local runs). ``workers``: the local engine's partitions at
    once (``app.local_pool``; ``GEODX_PARTITION_WORKERS`` when not given).
    """
    with clock.stage("read communes"):
        communes = read_communes(manifest.communes, limits=limits)
        geoms = np.asarray(communes.geometry.values, dtype=object)
        communes_wgs84 = reproject(geoms, communes.crs, WGS84)
    utm = metric_crs(communes_wgs84)
    folder = Path(tempfile.mkdtemp(prefix="tmp-partitions-", dir=scratch))
    dask = None
    try:
        dask = _dask(engine, scheduler, clock)  # up before the split (workers fork)
        with clock.stage("split households"):
            source, estimate, bounds = _households(
                manifest, communes, communes_wgs84, utm, limits
            )
            small = None
            if engine == "local" and resolution is None:
                small = small_households(
                    source, region_bounds=bounds, limits=limits, max_points=max_points
                )
        if small is not None:
            started = _starter(drawing, communes_wgs84, utm)
            got = _run_small(manifest, small, communes, utm, limits, clock, started)
            if got is None:
                return None
            run, plan = got
            return Computed(communes, communes_wgs84, run, plan, estimate, utm, 1, 0)
        n = 1 if dask else partition_workers(os.environ) if workers is None else workers
        with clock.stage("split households"):
            spilled = spill_households(
                source, folder, h3_resolution=manifest.h3_resolution,
                region_bounds=bounds, limits=limits,
                # n partitions at once: each 1/n of the points (the memory of one)
                max_points=max(1, max_points // n),
                resolution=resolution,
                # Dask: two partitions a core at least, so every worker has work.
                min_partitions=2 * (os.cpu_count() or 1) if engine == "dask" else 1,
            )  # fmt: skip
            del source
        if not spilled.partitions:
            return None
        # Two layer threads a task on Dask too: the last task uses the idle cores.
        facts = RegionFacts(
            str(manifest.path.resolve()), spilled.crs, spilled.lnglat_bounds,
            spilled.integral, limits, utm, threads=2,
        )  # fmt: skip
        tasks = [
            PartitionTask(facts, p.parent, str(p.path)) for p in spilled.partitions
        ]
        with clock.stage(f"partitions ({engine}, wall)"):
            if dask:  # its workers are up (forked): the drawing may start
                _starter(drawing, communes_wgs84, utm)(None)
                results = dask.run(tasks)
            else:
                region = region_of(facts, communes)  # read once: the communes are here
                if n > 1 and len(tasks) > 1:  # built once here, shared by the workers
                    warm_nearest(measured_fibre(region), metric_crs=region.utm)
                start = _starter(drawing, communes_wgs84, utm)
                results = _run_local(tasks, lambda: start(region), n)
        with clock.stage("merge partitions"):
            run, plan = merge_results(results, integral=spilled.integral)
    finally:
        if dask is not None:
            dask.close()
        shutil.rmtree(folder, ignore_errors=True)
        forget_region()  # this process's copy of the region: not kept after the run
    return Computed(
        communes, communes_wgs84, run, plan, estimate, utm, len(tasks),
        spilled.resolution,
    )  # fmt: skip


def _run_local(
    tasks: list[PartitionTask], started: Callable[[], None], n: int
) -> list[PartitionResult]:
    """The partitions in ``n`` forked workers (``app.local_pool``), or in this process.

    One after the other here when ``n`` is 1 or there is one partition.
    ``started()`` (the map layers) is called once the workers are forked.
    """
    if n > 1 and len(tasks) > 1:
        sizes = [file_size(t.path) for t in tasks]
        release_memory()  # the split's freed heap: not inherited by the workers
        return run_forked(
            run_partition, tasks, sizes, workers=min(n, len(tasks)), started=started
        )
    started()
    last = len(tasks) - 1
    return [run_partition(t, release=i < last) for i, t in enumerate(tasks)]


def _run_small(
    manifest: Manifest,
    points: HouseholdPoints,
    communes: gpd.GeoDataFrame,
    utm: CRS,
    limits: Limits,
    clock: Any,
    started: Callable[[Region], None],
) -> tuple[RunSums, pa.Table] | None:
    """The households of a region of one partition, run from memory (``app.small``).

    Their cells are computed while the region's layers are opened. None when there
    are no households (the single pass writes that run). ``started(region)`` is
    called once the region is read.
    """
    if len(points) == 0:
        return None
    facts = RegionFacts(
        str(manifest.path.resolve()), points.crs, lnglat_bounds(points),
        points.integral, limits, utm, threads=2,
    )  # fmt: skip
    try:
        with clock.stage("partitions (local, wall)"):
            cells = start_cells(
                points, manifest.h3_resolution, layer_pool(facts.threads)
            )
            region = region_of(facts, communes)
            started(region)
            read = (points, np.arange(len(points), dtype=np.int64), cells())
            parent = int(parent_cells(read[2][:1], 0)[0])
            result = run_households(region, facts, parent, read)
        with clock.stage("merge partitions"):
            return merge_results([result], integral=facts.integral)
    finally:
        forget_region()


def _starter(
    drawing: MapDrawing | None, communes_wgs84: np.ndarray, utm: CRS
) -> Callable[[Region | None], None]:
    """What starts the map layers (``drawing``) once a region is read (else nothing).

    ``start(None)``: no region read in this process (Dask): the drawing opens the site
    layers itself.
    """

    def start(region: Region | None) -> None:
        if drawing is None:
            return
        bounds = shapely.total_bounds(communes_wgs84).tolist()
        sites = {
            slug: layer.layer
            for slug, layer in (region.layers.items() if region else ())
            if isinstance(layer.layer, SiteLayer)
        }
        drawing.start((bounds[0], bounds[1], bounds[2], bounds[3]), utm, sites)

    return start


def _households(
    manifest: Manifest,
    communes: gpd.GeoDataFrame,
    communes_wgs84: np.ndarray,
    utm: CRS,
    limits: Limits,
) -> tuple[
    HouseholdsSpec | HouseholdPoints,
    Estimate | None,
    tuple[float, float, float, float] | None,
]:
    """The households to split: a file to read, or counts spread (in memory)."""
    spec = manifest.households
    if isinstance(spec, CountsSpec):
        spread, matched = estimate_households(spec, communes, utm=utm, limits=limits)
        estimate = Estimate.of(spec, spread, matched, root=manifest.root)
        return spread.points, estimate, None
    west, south, east, north = shapely.total_bounds(communes_wgs84).tolist()
    return spec, None, (west, south, east, north)


def _dask(engine: str, scheduler: str | None, clock: Any) -> Any:
    """Dask's client (``app.dask_engine.DaskEngine``), opened; None for local."""
    if engine != "dask":
        return None
    from app.dask_engine import DaskEngine

    with clock.stage("start dask"):
        return DaskEngine(scheduler)
