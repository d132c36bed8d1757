"""The partitioned engine: households split by an H3 parent cell, two partitions at a time.

``geodx run --engine local`` (the default) and ``--engine dask`` (``app.dask_engine``)
run the same task, :func:`run_partition`, on each partition file
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

import gc
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pyarrow as pa
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from app.local_pool import file_size, partition_workers, run_forked
from app.partition_region import (
    Region,
    RegionFacts,
    answer_layer,
    assign,
    cost_rank,
    forget_region,
    region_of,
)
from app.pipeline import metric_crs
from app.planning import plan_table
from app.single_pass import add_measured, fold
from app.small import lnglat_bounds, small_households, start_cells
from app.spill import read_partition, spill_households
from geodx.contract_views import ViewColumn
from geodx.counts import estimate_households
from geodx.coverage import Overlay
from geodx.crs import reproject
from geodx.heap import trim_heap
from geodx.io import read_communes
from geodx.limits import Limits
from geodx.manifest_specs import (
    CountsSpec,
    HouseholdsSpec,
    Manifest,
)
from geodx.partition import (
    MAX_POINTS,
    RowSums,
    RunSums,
    merge_rows,
    parent_cells,
    row_sums,
)
from geodx.points import WGS84, HouseholdPoints
from geodx.spread import Estimate
from layers import vector as _vector
from layers.base import CoverageLayer, LayerAnswer
from layers.sites import SiteLayer
from layers.vector import NetworkReach, ServedArea, warm_nearest

if TYPE_CHECKING:
    from app.drawing import MapDrawing

#: The plan rows' position in the household file (dropped once merged).
ROW = "_row"


@dataclass(frozen=True)
class PartitionTask:
    """One partition to run: its parent cell and file."""

    facts: RegionFacts
    parent: int
    path: str


@dataclass
class PartitionResult:
    """A partition's sums and plan rows (a column :data:`ROW`: the file row)."""

    parent: int
    rows: RowSums
    plan: pa.Table
    sources: dict[str, str]
    columns: list[ViewColumn]
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    """The process's layer threads, kept from one partition to the next.

    Their coordinate transformers are built once (see ``geodx.points``).
    """
    threads = max(threads, 1)
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="geodx-layer")
    return _POOLS[threads]


def _fresh_pools() -> None:
    """In a forked child: forget the parent's thread pools, so it makes its own.

    Their threads are not in the child: a task handed to one would wait forever.
    """
    _POOLS.clear()
    _vector._HALVES.clear()


os.register_at_fork(after_in_child=_fresh_pools)


def partition_overlay(
    region: Region,
    households: HouseholdPoints,
    cells: NDArray[np.uint64],
    facts: RegionFacts,
) -> Overlay:
    """Every per-household answer of the manifest for one partition's households."""
    manifest = region.manifest
    households.xy(region.communes.crs)  # warm the transform cache before threads
    # The slowest first (sites, networks, polygons), rasters last: two threads stay busy.
    order = sorted(manifest.layers, key=lambda s: cost_rank(region.layers[s.slug]))
    pool = _pool(facts.threads)
    jobs = {
        s.slug: pool.submit(answer_layer, region.layers[s.slug], households)
        for s in order
    }
    assignment = assign(region, households)
    answers: dict[str, LayerAnswer] = {}
    sources: dict[str, str] = {}
    for spec in manifest.layers:
        answers[spec.slug], sources[spec.slug] = jobs[spec.slug].result()
    result = fold(manifest.layers, households, assignment, cells, answers, sources)
    if manifest.measured:
        add_measured(manifest, result, facts.limits, region.tiles)
    return result


def run_partition(task: PartitionTask, *, release: bool = True) -> PartitionResult:
    """Run one partition: its sums per (cell, commune) row and its plan rows.

    ``release``: give the partition's memory back afterwards (the local engine does
    not after its last partition: the outputs are written next, from the same heap).
    """
    start = time.perf_counter()
    facts = task.facts
    region = region_of(facts)
    households, rows, cells = read_partition(task.path, facts.crs)
    done = _run_households(region, facts, task.parent, (households, rows, cells))
    done.seconds = time.perf_counter() - start
    del households
    if release:
        release_memory()
    return done


def _run_households(
    region: Region,
    facts: RegionFacts,
    parent: int,
    read: tuple[HouseholdPoints, NDArray[np.int64], NDArray[np.uint64]],
) -> PartitionResult:
    """One partition's households (with their file rows and cells), answered and summed.

    The plan rows are found in a layer thread while this one sums the rows.
    """
    households, rows, cells = read
    result = partition_overlay(region, households, cells, facts)
    plan = _pool(facts.threads).submit(_plan, region, result, rows, facts)
    sums = row_sums(result, len(region.communes))
    return PartitionResult(parent, sums, plan.result(), result.sources, result.columns)


def release_memory() -> None:
    """Collect the partition's garbage and give the freed memory back to the system.

    Without it the heap keeps the freed blocks of every partition, fragmented, and the
    peak grows with the number of partitions (``geodx.heap.trim_heap``).
    """
    gc.collect()
    trim_heap()


def _plan(
    region: Region, result: Overlay, rows: NDArray[np.int64], facts: RegionFacts
) -> pa.Table:
    """The partition's plan rows (``app.planning``), with their file rows."""
    manifest = region.manifest
    fibre = _fibre(region)
    plan = plan_table(
        manifest, region.communes, result, utm=region.utm, limits=facts.limits,
        layers=fibre,
    )  # fmt: skip
    if not facts.integral:  # the region's weights decide the column's type
        index = plan.schema.get_field_index("households")
        plan = plan.set_column(
            index, "households", plan.column(index).cast(pa.float64())
        )
    without = rows[~result.indicators["fibre"]]
    return plan.append_column(ROW, pa.array(without, type=pa.int64()))


def _fibre(region: Region) -> list[CoverageLayer]:
    """The region's fibre layers, whole (the plan's distances: features anywhere)."""
    return [
        region.layers[s.slug].layer for s in region.manifest.layers if s.kind == "fibre"
    ]


def _measured_fibre(region: Region) -> list[ServedArea | NetworkReach]:
    """The fibre layers the plan measures distances to (vector layers)."""
    return [x for x in _fibre(region) if isinstance(x, ServedArea | NetworkReach)]


def merge_results(
    results: list[PartitionResult], *, integral: bool
) -> tuple[RunSums, pa.Table]:
    """The partitions' rows and plan rows, merged (``results`` in parent-cell order)."""
    rows = merge_rows([r.rows for r in results])
    first = results[0]
    run = RunSums(rows, dict(first.sources), list(first.columns), integral)
    plan = pa.concat_tables([r.plan for r in results])
    order = np.argsort(plan.column(ROW).to_numpy(), kind="stable")
    return run, plan.take(order).drop_columns([ROW])


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
                    warm_nearest(_measured_fibre(region), metric_crs=region.utm)
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
            cells = start_cells(points, manifest.h3_resolution, _pool(facts.threads))
            region = region_of(facts, communes)
            started(region)
            read = (points, np.arange(len(points), dtype=np.int64), cells())
            parent = int(parent_cells(read[2][:1], 0)[0])
            result = _run_households(region, facts, parent, read)
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
