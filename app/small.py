"""A region whose households fit in one partition: read whole, not split into files.

With at most ``max_points`` household points, the split (``app.spill``) would write
every household into one partition file, in the file's order, and the partition would
read them back: the same points, rows ``0..n-1`` and cells as reading the file whole
(:func:`geodx.io.read_households`, which the split itself falls back to whenever a
batch breaks a rule) and computing the cells at once. The partitioned engine then runs
that one partition from memory (``app.engine``).

Only a lon/lat Parquet table (its row count is in its footer) and counts spread in
memory are known to be small before reading; any other file is split as before, and a
Parquet table this probe cannot size goes to the split too, which refuses it with its
usual message.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np
import pyarrow.parquet as pq
from numpy.typing import NDArray

from geodx.formats import PARQUET_SUFFIXES, check_file_size
from geodx.grid import points_to_cells
from geodx.io import is_lonlat_table, read_households
from geodx.limits import Limits
from geodx.manifest_specs import HouseholdsSpec
from geodx.points import HouseholdPoints
from geodx.validate import check_households_in_region

Bounds = tuple[float, float, float, float]


def _small_table(spec: HouseholdsSpec, limits: Limits, max_points: int) -> bool:
    """Whether ``spec`` is a lon/lat Parquet table of at most ``max_points`` rows."""
    path = spec.path
    if path.suffix.lower() not in PARQUET_SUFFIXES:
        return False
    try:
        if not is_lonlat_table(path, role="households"):
            return False
        check_file_size(path, limits, role="households")
        rows = pq.read_metadata(path).num_rows
    except Exception:  # noqa: BLE001 - the split reads it and says what is wrong
        return False
    return bool(rows <= max_points)


def small_households(
    source: HouseholdsSpec | HouseholdPoints,
    *,
    region_bounds: Bounds | None,
    limits: Limits,
    max_points: int,
) -> HouseholdPoints | None:
    """The households read whole when they fit in one partition, else None.

    ``region_bounds``: the communes' WGS84 box (the region check of points read from
    a file, as the split makes it).

    Raises
    ------
    GeodxError
        The whole-file reader's refusal (the split's too, for the same file).
    """
    if isinstance(source, HouseholdPoints):
        return source if len(source) <= max_points else None
    if not _small_table(source, limits, max_points):
        return None
    points = read_households(source, limits=limits)
    if region_bounds is not None:
        check_households_in_region(points, region_bounds, path=source.path)
    return points


def lnglat_bounds(points: HouseholdPoints) -> Bounds:
    """The households' WGS84 box (the split's ``lnglat_bounds``)."""
    lng, lat = points.lng_lat
    if not len(lng):
        return (np.inf, np.inf, -np.inf, -np.inf)
    return (float(lng.min()), float(lat.min()), float(lng.max()), float(lat.max()))


def start_cells(
    points: HouseholdPoints, resolution: int, pool: Executor
) -> Callable[[], NDArray[np.uint64]]:
    """Start each household's H3 cell in ``pool``; the function returned waits for them.

    Two halves at once (polars frees the GIL); each cell is computed alone, so the
    halves give the very cells of one call.
    """
    lng, lat = points.lng_lat
    half = len(lng) // 2 if len(lng) >= 8192 else len(lng)
    parts = [slice(0, half), slice(half, None)]
    jobs = [
        pool.submit(points_to_cells, lat[p], lng[p], resolution=resolution)
        for p in parts
    ]
    return lambda: np.concatenate([job.result() for job in jobs]).astype(np.uint64)
