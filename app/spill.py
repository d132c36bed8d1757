"""Households split into partition files, read in batches (the partitioned run's first step).

Two passes over the households, a batch at a time (:data:`BATCH` rows), each on both
cores (``app.spill_passes``: the batches read in order, two worker threads):

1. each household's H3 cell at the cell table's resolution, computed once and kept in a
   scratch file (8 bytes a household), the household points per cell at
   :data:`geodx.partition.FINEST`, whether every weight is whole, and the WGS84 bounding
   box of all households;
2. with the partition resolution chosen from those counts
   (:func:`geodx.partition.choose_resolution`) and the partitions packed, the batches
   read again (the very same batches), their cells taken back from the scratch file,
   and each household appended to its partition's file: ``x, y, weight, row, cell``
   (``app.spill_passes.RECORD``), in the file's order.

A lon/lat Parquet table (the bench's and the country's format) is read a batch at a time,
so no pass holds every household; so are CSV tables and point vector files
(``app.batches``). Counts spread over a raster are spread in memory, then split.
Whenever a batch breaks a rule, the whole file is read again by
:func:`geodx.io.read_households`, which refuses it with its usual one-line message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray
from pyproj import CRS

from app.batches import Batch, BatchedFile, Refused, batched_file
from app.spill_passes import (
    RECORD,
    Counted,
    cell_counts,
    count_pass,
    read_cells,
    scatter_pass,
)
from geodx.formats import check_content, check_feature_count, check_file_size
from geodx.io import is_lonlat_table, read_households
from geodx.limits import Limits
from geodx.manifest_specs import HouseholdsSpec
from geodx.partition import FINEST, MAX_POINTS, choose_resolution, parent_cells
from geodx.points import WGS84, HouseholdPoints
from geodx.validate import check_households_in_region

#: Rows per batch read from a Parquet table (and of household points in memory).
BATCH = 1 << 18


@dataclass
class Partition:
    """One partition: its parent cell, file and household points."""

    parent: int
    path: Path
    points: int


@dataclass
class Spilled:
    """The households split into partition files."""

    crs: CRS
    resolution: int
    partitions: list[Partition]  # in the order of their parent cells
    integral: bool
    lnglat_bounds: tuple[float, float, float, float]
    points: int


def _memory_batches(points: HouseholdPoints) -> Iterator[Batch]:
    lng, lat = points.lng_lat
    for start in range(0, len(points), BATCH):
        part = slice(start, start + BATCH)
        yield Batch(
            points.x[part], points.y[part], points.weight[part], lng[part], lat[part]
        )


def _parquet_batches(spec: HouseholdsSpec) -> Iterator[Batch]:
    wanted = [spec.lon, spec.lat] + ([spec.weight] if spec.weight else [])
    # Mapped: the pages are read in place (read into buffers by Arrow's I/O thread,
    # the national table's two passes took 0.9 s more system time).
    reader = pq.ParquetFile(spec.path, memory_map=True)
    try:
        for batch in reader.iter_batches(
            batch_size=BATCH, columns=wanted, use_threads=False
        ):
            lon = _numbers(batch, spec.lon)
            lat = _numbers(batch, spec.lat)
            weight = _numbers(batch, spec.weight) if spec.weight else np.ones(len(lon))
            yield Batch(lon, lat, weight, lon, lat)
    finally:
        reader.close()


def _numbers(batch: pa.RecordBatch, column: str) -> NDArray[np.float64]:
    col = batch.column(column)
    if col.null_count:
        raise Refused
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def _parquet_ok(spec: HouseholdsSpec, limits: Limits) -> bool:
    """Whether the households are a lon/lat Parquet table whose header passes."""
    path = spec.path
    if path.suffix.lower() != ".parquet" or not is_lonlat_table(
        path, role="households"
    ):
        return False
    check_file_size(path, limits, role="households")
    check_content(path, "Parquet", role="households")
    meta = pq.read_metadata(path)
    check_feature_count(path, meta.num_rows, limits, role="households")
    schema = meta.schema.to_arrow_schema()
    wanted = [spec.lon, spec.lat] + ([spec.weight] if spec.weight else [])
    for name in wanted:
        if name not in schema.names:
            return False
        kind = schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            return False
    return True


def spill_households(
    source: HouseholdsSpec | HouseholdPoints,
    folder: Path,
    *,
    h3_resolution: int,
    region_bounds: tuple[float, float, float, float] | None,
    limits: Limits,
    max_points: int = MAX_POINTS,
    resolution: int | None = None,
    min_partitions: int = 1,
) -> Spilled:
    """Split the households into partition files in ``folder`` (two passes, see above).

    ``source``: a households spec (read here) or points already in memory (counts
    spread). ``min_partitions``: partitions hold at most ``points / min_partitions``
    household points too, so that many workers have work. ``region_bounds``: the communes' WGS84 box for the region check (points
    read from a file); ``resolution`` forces the partition resolution.

    Raises
    ------
    GeodxError
        The reader's refusal of a file that breaks a rule.
    """
    if isinstance(source, HouseholdPoints):
        return _spill(
            source, folder, h3_resolution, None, limits, max_points, resolution,
            min_partitions,
        )  # fmt: skip
    source = batched_file(source, limits)  # CSV and point files: app.batches
    if isinstance(source, BatchedFile) or _parquet_ok(source, limits):
        try:
            return _spill(
                source, folder, h3_resolution, region_bounds, limits, max_points,
                resolution, min_partitions,
            )  # fmt: skip
        except Refused:
            pass
    points = read_households(source, limits=limits)
    if region_bounds is not None:
        check_households_in_region(points, region_bounds, path=source.path)
    return _spill(
        points,
        folder,
        h3_resolution,
        None,
        limits,
        max_points,
        resolution,
        min_partitions,
    )


def batches_of(spec: HouseholdsSpec, limits: Limits) -> Iterator[Batch]:
    """A households file's batches as the split reads them (``bench.split``)."""
    return _batches(batched_file(spec, limits))


def _batches(source: HouseholdsSpec | HouseholdPoints) -> Iterator[Batch]:
    if isinstance(source, HouseholdPoints):
        return _memory_batches(source)
    if isinstance(source, BatchedFile):
        return source.batches()
    return _parquet_batches(source)


def _spill(
    source: HouseholdsSpec | HouseholdPoints,
    folder: Path,
    h3_resolution: int,
    region_bounds: tuple[float, float, float, float] | None,
    limits: Limits,
    max_points: int,
    resolution: int | None,
    min_partitions: int = 1,
) -> Spilled:
    finest = min(FINEST, h3_resolution)
    scratch = folder / "cells.u64"
    fd = os.open(scratch, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        counted = count_pass(
            _batches(source), fd, h3_resolution=h3_resolution,
            counts_resolution=finest, limits=limits, region_bounds=region_bounds,
        )  # fmt: skip
        counts = counted.finish(region_bounds is not None)
        points = counted.points
        cap = min(max_points, max(1, -(-points // min_partitions)))
        chosen = resolution is None
        if resolution is None:
            parents = np.fromiter(counts, dtype=np.uint64, count=len(counts))
            n_at = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
            resolution = choose_resolution(parents, n_at, finest=finest, max_points=cap)
        resolution = min(resolution, h3_resolution)
        parts = _parents(counts, finest, resolution, fd, points, folder)
        if chosen:  # a forced resolution keeps one partition per parent cell
            parts = pack_partitions(parts, cap)
        heads = np.array([p.parent for p in parts], dtype=np.uint64)
        sizes = scatter_pass(
            _batches(source), fd, heads=heads, resolution=resolution,
            paths=[p.path for p in parts],
        )  # fmt: skip
    finally:
        os.close(fd)
        scratch.unlink()
    parts = [
        Partition(p.parent, p.path, n)
        for p, n in zip(parts, sizes.tolist(), strict=True)
        if n > 0
    ]
    crs = source.crs if isinstance(source, HouseholdPoints | BatchedFile) else WGS84
    lo, hi = counted.lo, counted.hi
    bounds = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
    return Spilled(crs, resolution, parts, counted.integral, bounds, points)


def _parents(
    counts: dict[int, int],
    finest: int,
    resolution: int,
    fd: int,
    points: int,
    folder: Path,
) -> list[Partition]:
    """One partition per parent cell at ``resolution`` (its points from pass 1).

    Pass 1 counted points at ``finest``; a finer forced resolution counts them again
    from the households' cells (the scratch file).
    """
    if resolution > finest:
        again = Counted()
        for row in range(0, points, BATCH):
            cells = read_cells(fd, row, min(BATCH, points - row))
            fine, n = cell_counts(cells, resolution)
            again.keys.append(fine)
            again.counts.append(n)
        counts = again.finish(False)
    cells = np.fromiter(counts, dtype=np.uint64, count=len(counts))
    n_at = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
    keys, index = np.unique(parent_cells(cells, resolution), return_inverse=True)
    sizes = np.bincount(index, weights=n_at, minlength=len(keys)).astype(np.int64)
    return [
        Partition(k, _part_path(folder, k), n)
        for k, n in zip(keys.tolist(), sizes.tolist(), strict=True)
    ]


def pack_partitions(parts: list[Partition], max_points: int) -> list[Partition]:
    """Runs of consecutive parent cells joined into partitions of ``<= max_points``.

    One resolution serves the whole region, so a dense city can force a fine one and
    leave thousands of small partitions elsewhere, each paying a partition's fixed
    cost. Parent cells in order are joined while they fit (before any household is
    written): a joined partition holds its parents' households in the order of the
    household file, so each (cell, commune) row sums the same households in the same
    order as from the parents one by one (cells nest in their parents, and the
    parents of a run are consecutive in the cell table's order).
    """
    packed: list[Partition] = []
    head: Partition | None = None
    total = 0  # the run's points
    for part in parts:
        if head is not None and total + part.points > max_points:
            packed.append(Partition(head.parent, head.path, total))
            head = None
        if head is None:
            head, total = part, 0
        total += part.points
    if head is not None:
        packed.append(Partition(head.parent, head.path, total))
    return packed


def _part_path(folder: Path, parent: int) -> Path:
    return folder / f"part-{parent:015x}.bin"


def read_partition(
    path: str | Path, crs: CRS
) -> tuple[HouseholdPoints, NDArray[np.int64], NDArray[np.uint64]]:
    """A partition file's households (in file order), their rows and H3 cells."""
    records = np.fromfile(path, dtype=RECORD)

    def column(name: str) -> np.ndarray:
        return np.ascontiguousarray(records[name])

    points = HouseholdPoints(column("x"), column("y"), column("w"), crs)
    return points, column("row"), column("cell")


__all__ = [
    "Partition",
    "Spilled",
    "batches_of",
    "read_partition",
    "spill_households",
]
