"""Households split into partition files, read in batches (the partitioned run's first step).

Two passes over the households, a batch at a time (:data:`BATCH` rows):

1. each household's H3 cell at the cell table's resolution (kept in a scratch file),
   the household points per cell at :data:`geodx.partition.FINEST`, whether every weight
   is whole, and the WGS84 bounding box of all households;
2. with the partition resolution chosen from those counts
   (:func:`geodx.partition.choose_resolution`), each household appended to its
   partition's file: ``x, y, weight, row, cell`` (:data:`RECORD`), in the file's order.

A lon/lat Parquet table (the bench's and the country's format) is read a batch at a time,
so no pass holds every household; so are CSV tables and point vector files
(``app.batches``). Counts spread over a raster are spread in memory, then split.
Whenever a batch breaks a rule, the whole file is read again by
:func:`geodx.io.read_households`, which refuses it with its usual one-line message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray
from pyproj import CRS

from app.batches import Batch, BatchedFile, Refused, batched_file
from geodx.formats import check_content, check_feature_count, check_file_size
from geodx.grid import points_to_cells
from geodx.io import is_lonlat_table, read_households
from geodx.limits import Limits
from geodx.manifest_specs import HouseholdsSpec
from geodx.partition import FINEST, MAX_POINTS, choose_resolution, parent_cells
from geodx.points import WGS84, HouseholdPoints
from geodx.validate import MARGIN_DEG, MAX_OUTSIDE_SHARE, check_households_in_region

#: Rows per batch read from a Parquet table.
BATCH = 1 << 18
#: One household in a partition file.
RECORD = np.dtype(
    [("x", "<f8"), ("y", "<f8"), ("w", "<f8"), ("row", "<i8"), ("cell", "<u8")]
)


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
    reader = pq.ParquetFile(spec.path)
    try:
        for batch in reader.iter_batches(batch_size=BATCH, columns=wanted):
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


class _Checks:
    """The reader's value rules and the region check, summed over batches."""

    def __init__(self, limits: Limits, bounds: tuple[float, ...] | None) -> None:
        self.cap = limits.max_household_weight
        self.box = None
        if bounds is not None:
            west, south, east, north = bounds
            m = MARGIN_DEG
            self.box = (west - m, south - m, east + m, north + m)
        self.total = self.inside = self.swapped = self.weights = 0.0

    def add(self, b: Batch) -> None:
        fine = np.isfinite(b.lng) & np.isfinite(b.lat) & np.isfinite(b.w)
        fine &= (np.abs(b.lng) <= 180) & (np.abs(b.lat) <= 90)
        if not fine.all() or (b.w < 0).any() or (b.w > self.cap).any():
            raise Refused
        self.weights += float(b.w.sum())
        if self.box is None:
            return
        weight = np.maximum(b.w, 1e-12)
        self.total += float(weight.sum())
        self.inside += float(weight[_in_box(b.lng, b.lat, self.box)].sum())
        self.swapped += float(weight[_in_box(b.lat, b.lng, self.box)].sum())

    def finish(self) -> None:
        if not np.isfinite(self.weights):
            raise Refused
        if self.box is None or self.total == 0:
            return
        outside = 1 - self.inside / self.total
        if outside > MAX_OUTSIDE_SHARE:
            raise Refused


def _in_box(
    x: NDArray[np.float64], y: NDArray[np.float64], box: tuple[float, ...]
) -> NDArray[np.bool_]:
    west, south, east, north = box
    inside: NDArray[np.bool_] = (x >= west) & (x <= east) & (y >= south) & (y <= north)
    return inside


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


def _batches(source: HouseholdsSpec | HouseholdPoints) -> Iterator[Batch]:
    if isinstance(source, HouseholdPoints):
        return _memory_batches(source)
    if isinstance(source, BatchedFile):
        return source.batches()
    return _parquet_batches(source)


_THREADS = ThreadPoolExecutor(2, thread_name_prefix="geodx-split")


def _cells(b: Batch, resolution: int) -> NDArray[np.uint64]:
    """The batch's H3 cells, its two halves computed at once (polars frees the GIL).

    Each cell is computed alone, so the halves give the very cells of one call.
    """
    half = len(b.lat) // 2
    if half < 4096 or (os.cpu_count() or 1) < 2:
        return points_to_cells(b.lat, b.lng, resolution=resolution)
    halves = [slice(0, half), slice(half, None)]
    got = _THREADS.map(
        lambda s: points_to_cells(b.lat[s], b.lng[s], resolution=resolution), halves
    )
    return np.concatenate(list(got))


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
    cells_path = folder / "cells.u64"
    checks = _Checks(limits, region_bounds)
    counts: dict[int, int] = {}
    integral, points = True, 0
    lo = np.array([np.inf, np.inf])
    hi = -lo
    with cells_path.open("wb") as cells_file:
        for b in _batches(source):
            checks.add(b)
            cells = _cells(b, h3_resolution)
            cells_file.write(cells.tobytes())
            keys, n = np.unique(parent_cells(cells, finest), return_counts=True)
            for key, k in zip(keys.tolist(), n.tolist(), strict=True):
                counts[key] = counts.get(key, 0) + k
            integral = integral and bool(np.all(np.mod(b.w, 1) == 0))
            points += len(b.w)
            if len(b.w):
                lo = np.minimum(lo, [b.lng.min(), b.lat.min()])
                hi = np.maximum(hi, [b.lng.max(), b.lat.max()])
    checks.finish()
    if resolution is None:
        parents = np.fromiter(counts, dtype=np.uint64, count=len(counts))
        n_at = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        resolution = choose_resolution(
            parents,
            n_at,
            finest=finest,
            max_points=min(max_points, max(1, -(-points // min_partitions))),
        )
        chosen = True
    else:
        chosen = False
    resolution = min(resolution, h3_resolution)
    parts = _parents(counts, finest, resolution, cells_path)
    if chosen:  # a forced resolution keeps one partition per parent cell
        parts = pack_partitions(
            parts, min(max_points, max(1, -(-points // min_partitions)))
        )
    parts = _write_partitions(source, cells_path, resolution, parts)
    cells_path.unlink()
    crs = source.crs if isinstance(source, HouseholdPoints | BatchedFile) else WGS84
    bounds = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
    return Spilled(crs, resolution, parts, integral, bounds, points)


def _parents(
    counts: dict[int, int], finest: int, resolution: int, cells_path: Path
) -> list[Partition]:
    """One partition per parent cell at ``resolution`` (its points from pass 1).

    Pass 1 counted points at ``finest``; a finer forced resolution counts them again
    from the households' cells (the scratch file).
    """
    if resolution > finest:
        counts = {}
        with cells_path.open("rb") as cells_file:
            while len(chunk := np.fromfile(cells_file, np.uint64, count=BATCH)):
                keys, n = np.unique(parent_cells(chunk, resolution), return_counts=True)
                for key, k in zip(keys.tolist(), n.tolist(), strict=True):
                    counts[key] = counts.get(key, 0) + k
    folder = cells_path.parent
    cells = np.fromiter(counts, dtype=np.uint64, count=len(counts))
    n_at = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
    keys, index = np.unique(parent_cells(cells, resolution), return_inverse=True)
    sizes = np.bincount(index, weights=n_at, minlength=len(keys)).astype(np.int64)
    return [
        Partition(k, _part_path(folder, k), n)
        for k, n in zip(keys.tolist(), sizes.tolist(), strict=True)
    ]


def _write_partitions(
    source: HouseholdsSpec | HouseholdPoints,
    cells_path: Path,
    resolution: int,
    parts: list[Partition],
) -> list[Partition]:
    """Pass 2: append each batch's households to their partition's file.

    A partition holds the parent cells from its own up to the next partition's
    (``parts`` in parent order, runs of consecutive parents); its file keeps the
    households in the order of the household file.
    """
    heads = np.array([p.parent for p in parts], dtype=np.uint64)
    sizes = np.zeros(len(parts), dtype=np.int64)
    row = 0
    with cells_path.open("rb") as cells_file:
        for b in _batches(source):
            n = len(b.w)
            cells = np.fromfile(cells_file, dtype=np.uint64, count=n)
            part = np.searchsorted(heads, parent_cells(cells, resolution), "right") - 1
            order = np.argsort(part, kind="stable")
            keys, starts = np.unique(part[order], return_index=True)
            records = np.empty(n, dtype=RECORD)
            records["x"], records["y"], records["w"] = b.x, b.y, b.w
            records["row"] = np.arange(row, row + n)
            records["cell"] = cells
            records = records[order]
            ends = np.r_[starts[1:], n]
            for key, a, z in zip(keys.tolist(), starts, ends, strict=True):
                with parts[key].path.open("ab") as fh:
                    fh.write(records[a:z].tobytes())
                sizes[key] += z - a
            row += n
    return [
        Partition(p.parent, p.path, n)
        for p, n in zip(parts, sizes.tolist(), strict=True)
        if n > 0
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
    run: list[Partition] = []
    for part in [*parts, None]:
        if run and (
            part is None or sum(p.points for p in run) + part.points > max_points
        ):
            head = run[0]
            packed.append(Partition(head.parent, head.path, sum(p.points for p in run)))
            run = []
        if part is not None:
            run.append(part)
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


__all__ = ["Partition", "Spilled", "read_partition", "spill_households"]
