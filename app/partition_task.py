"""One partition's run: the task a local worker or a Dask worker runs, and the merge.

:func:`run_partition` reads a partition file (``app.spill``), answers every
per-household question for its households against the communes and the layer features
that reach them (``app.partition_region``), and returns their sums per (cell, commune)
row (:class:`geodx.partition.RowSums`) and the partition's plan rows;
:func:`merge_results` merges the partitions' in parent-cell order. The layers of a
partition are answered on a process's own threads (:func:`layer_pool`), which a forked child
forgets (``os.register_at_fork``). ``app.engine`` splits the households and hands the
tasks out.
"""

from __future__ import annotations

import gc
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from app.partition_region import (
    Region,
    RegionFacts,
    answer_layer,
    assign,
    cost_rank,
    region_of,
)
from app.planning import plan_table
from app.single_pass import add_measured, fold
from app.spill import read_partition
from geodx.contract_views import ViewColumn
from geodx.coverage import Overlay
from geodx.heap import heap_free, trim_heap
from geodx.partition import (
    RowSums,
    RunSums,
    merge_rows,
    row_sums,
)
from geodx.points import HouseholdPoints
from layers import vector as _vector
from layers.base import CoverageLayer, LayerAnswer
from layers.vector import NetworkReach, ServedArea

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


def layer_pool(threads: int) -> ThreadPoolExecutor:
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
    pool = layer_pool(facts.threads)
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
    done = run_households(region, facts, task.parent, (households, rows, cells))
    done.seconds = time.perf_counter() - start
    del households
    if release:
        release_memory(keep=KEEP_FREE)
    return done


def run_households(
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
    plan = layer_pool(facts.threads).submit(_plan, region, result, rows, facts)
    sums = row_sums(result, len(region.communes))
    return PartitionResult(parent, sums, plan.result(), result.sources, result.columns)


#: A worker's heap is trimmed after a partition only when it holds more free than
#: this (a national partition's worker keeps 100-175 MiB free, reused by the next).
KEEP_FREE = 256 * 1024**2


def release_memory(*, keep: int = 0) -> None:
    """Collect the partition's garbage; give the freed memory back to the system.

    The heap is trimmed (``geodx.heap.trim_heap``) when it holds more than ``keep``
    bytes free (or when that is not known): without a bound, the freed blocks of every
    partition stay, fragmented, and the peak grows with the number of partitions;
    trimmed every time, the next partition faults each page in afresh (national run:
    1.5M page faults in the workers, 8.8 s of system time, against 0.47M and 3.9 s).
    """
    gc.collect()
    free = heap_free() if keep else None
    if free is None or free > keep:
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


def measured_fibre(region: Region) -> list[ServedArea | NetworkReach]:
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
