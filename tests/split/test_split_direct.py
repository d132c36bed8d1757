"""The split's partition files against a direct computation, household by household.

The rule (docs/scale.md, "Partitions" steps 1-2), written again naively here with the
h3 library one point at a time: each household's cell at the manifest's resolution;
the coarsest partition resolution from 0 to 6 whose largest parent cell holds at most
``max_points`` household points; the parent cells in order joined greedily into runs of
at most ``max_points``; each run's file holds exactly its households, in the household
file's order, as ``x, y, weight, row, cell``. Batches are made small so that their
boundaries fall inside parent cells (the households are in runs of one town each).
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from app import spill
from app.spill import Spilled, read_partition, spill_households
from app.spill_passes import DEPTH, ordered
from geodx.errors import GeodxError
from geodx.io import read_households
from geodx.limits import Limits
from geodx.manifest_specs import HouseholdsSpec
from geodx.points import WGS84

BOUNDS = (105.9, 10.9, 109.1, 14.1)


def households(n: int, seed: int, *, fractional: bool) -> pd.DataFrame:
    """Towns of households, one town after the other in the file, and some scattered."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform([106.0, 11.0], [109.0, 14.0], (6, 2))
    town = np.sort(rng.integers(0, 6, n))  # runs of one town: parents span batches
    lon = centre[town, 0] + rng.normal(0, 0.02, n)
    lat = centre[town, 1] + rng.normal(0, 0.02, n)
    spread = rng.random(n) < 0.2
    lon[spread] = rng.uniform(106.0, 109.0, spread.sum())
    lat[spread] = rng.uniform(11.0, 14.0, spread.sum())
    weight = rng.integers(1, 9, n).astype(float)
    if fractional:
        weight = weight * rng.uniform(0.1, 1.3, n)  # estimates: every bit matters
    return pd.DataFrame({"lon": lon, "lat": lat, "so_ho": weight})


def write_parquet(frame: pd.DataFrame, path: Path) -> HouseholdsSpec:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return HouseholdsSpec(path=path, weight="so_ho")


def direct_partitions(
    lon: np.ndarray, lat: np.ndarray, max_points: int
) -> tuple[int, list[str], list[list[int]], list[str]]:
    """Brute force: the resolution, each partition's first parent and rows, the cells."""
    cells = [h3.latlng_to_cell(la, lo, 9) for lo, la in zip(lon, lat, strict=True)]
    for res in range(7):
        parents = [h3.cell_to_parent(c, res) for c in cells]
        counts: dict[str, int] = {}
        for p in parents:
            counts[p] = counts.get(p, 0) + 1
        if max(counts.values()) <= max_points or res == 6:
            break
    runs: list[list[str]] = []
    for p in sorted(counts, key=lambda c: int(c, 16)):
        if runs and sum(counts[q] for q in runs[-1]) + counts[p] <= max_points:
            runs[-1].append(p)
        else:
            runs.append([p])
    where = {p: i for i, run in enumerate(runs) for p in run}
    rows: list[list[int]] = [[] for _ in runs]
    for row, p in enumerate(parents):
        rows[where[p]].append(row)
    return res, [run[0] for run in runs], rows, cells


def check_against_direct(
    got: Spilled, lon: np.ndarray, lat: np.ndarray, x: np.ndarray, y: np.ndarray,
    weight: np.ndarray, max_points: int,
) -> None:  # fmt: skip
    res, firsts, rows, cells = direct_partitions(lon, lat, max_points)
    assert got.resolution == res
    assert len(got.partitions) == len(rows) > 2
    assert got.points == len(lon)
    assert got.integral == bool(np.all(weight % 1 == 0))
    assert got.lnglat_bounds == (lon.min(), lat.min(), lon.max(), lat.max())
    for part, first, want in zip(got.partitions, firsts, rows, strict=True):
        points, stored_rows, stored_cells = read_partition(part.path, got.crs)
        assert stored_rows.tolist() == want  # exactly these, in file order
        assert part.points == len(want)
        assert part.parent == int(first, 16)
        assert [format(int(c), "x") for c in stored_cells] == [cells[r] for r in want]
        assert points.x.tobytes() == x[want].tobytes()  # the very bits
        assert points.y.tobytes() == y[want].tobytes()
        assert points.weight.tobytes() == weight[want].tobytes()


@pytest.mark.parametrize("fractional", [False, True])
@pytest.mark.parametrize("max_points", [900, 2500])
def test_parquet_partitions_equal_the_direct_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fractional: bool, max_points: int
) -> None:
    monkeypatch.setattr(spill, "BATCH", 1000)  # 7 batches, cut inside parent cells
    frame = households(6500, seed=max_points, fractional=fractional)
    source = write_parquet(frame, tmp_path / "households.parquet")
    folder = tmp_path / "parts"
    folder.mkdir()
    got = spill_households(
        source, folder, h3_resolution=9, region_bounds=BOUNDS, limits=Limits(),
        max_points=max_points,
    )  # fmt: skip
    lon, lat, w = (frame[c].to_numpy() for c in ("lon", "lat", "so_ho"))
    check_against_direct(got, lon, lat, lon, lat, w, max_points)
    cells = [h3.latlng_to_cell(la, lo, 9) for lo, la in zip(lon, lat, strict=True)]
    batch_of: dict[str, set[int]] = {}
    for row, cell in enumerate(cells):
        batch_of.setdefault(h3.cell_to_parent(cell, got.resolution), set()).add(
            row // 1000
        )
    assert max(len(b) for b in batch_of.values()) > 1  # a parent cut by batches
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.path.name for p in got.partitions
    )  # the scratch file is gone


def test_a_batch_that_breaks_a_rule_late_gets_the_whole_file_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill, "BATCH", 500)
    frame = households(5000, seed=5, fractional=False)
    frame.loc[4871, "so_ho"] = -2.0  # in the last batch
    source = write_parquet(frame, tmp_path / "households.parquet")
    with pytest.raises(GeodxError) as whole:
        read_households(source, limits=Limits())
    folder = tmp_path / "parts"
    folder.mkdir()
    with pytest.raises(GeodxError) as split:
        spill_households(
            source, folder, h3_resolution=9, region_bounds=BOUNDS, limits=Limits()
        )
    assert str(split.value) == str(whole.value)
    assert "households.parquet" in str(split.value) and "\n" not in str(split.value)
    assert list(folder.iterdir()) == []  # no partition file, no scratch file


def test_most_households_outside_the_region_is_refused_as_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The region check's shares, summed batch by batch, still refuse it."""
    monkeypatch.setattr(spill, "BATCH", 500)
    frame = households(3000, seed=6, fractional=True)
    source = write_parquet(frame, tmp_path / "households.parquet")
    far = (100.0, 20.0, 100.5, 20.5)
    with pytest.raises(GeodxError) as split:
        spill_households(
            source, tmp_path, h3_resolution=9, region_bounds=far, limits=Limits()
        )
    assert "households.parquet" in str(split.value)


@pytest.mark.parametrize("fmt", ["csv", "gpkg"])
def test_csv_and_geopackage_partitions_equal_the_direct_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Read a batch at a time by ``app.batches``; the GeoPackage in UTM 48N."""
    monkeypatch.setattr(spill, "BATCH", 700)
    monkeypatch.setattr("app.batches.CSV_BLOCK", 16_384)  # CSV blocks of ~300 rows
    frame = households(4000, seed=7, fractional=True)
    path = tmp_path / f"households.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        geoms = shapely.points(frame["lon"], frame["lat"])
        gdf = gpd.GeoDataFrame({"so_ho": frame["so_ho"]}, geometry=geoms, crs=WGS84)
        gdf.to_crs("EPSG:32648").to_file(path)
    source = HouseholdsSpec(path=path, weight="so_ho")

    def no_whole_read(*_: object, **__: object) -> None:
        raise AssertionError("read whole")

    monkeypatch.setattr(spill, "read_households", no_whole_read)
    folder = tmp_path / "parts"
    folder.mkdir()
    got = spill_households(
        source, folder, h3_resolution=9, region_bounds=BOUNDS, limits=Limits(),
        max_points=1200,
    )  # fmt: skip
    whole = read_households(source, limits=Limits())  # x, y as the reader gives them
    lon, lat = whole.lng_lat
    check_against_direct(got, lon, lat, whole.x, whole.y, whole.weight, 1200)
    assert got.crs == whole.crs


def test_no_households_no_partitions(tmp_path: Path) -> None:
    frame = households(10, seed=1, fractional=False).iloc[:0]
    source = write_parquet(frame, tmp_path / "households.parquet")
    got = spill_households(
        source, tmp_path, h3_resolution=9, region_bounds=None, limits=Limits()
    )
    assert (got.points, got.partitions) == (0, [])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["households.parquet"]


def test_results_come_in_order_and_an_error_stops_the_rest() -> None:
    """``ordered``: results in the items' order; on an error no started item runs on."""
    started: list[int] = []
    finished: list[int] = []

    def work(i: int) -> int:
        started.append(i)
        time.sleep(0.02 * (3 - i % 3))  # later items finish first
        if i == 4:
            raise ValueError("item 4")
        finished.append(i)
        return i * i

    assert list(ordered(work, range(4))) == [0, 1, 4, 9]
    started.clear()
    finished.clear()
    got = []
    with pytest.raises(ValueError, match="item 4"):
        for value in ordered(work, range(20)):
            got.append(value)
    assert got == [0, 1, 4, 9]
    assert max(started) < 4 + DEPTH  # items past the window never started
    assert sorted(finished) == sorted(set(started) - {4})  # none left running
