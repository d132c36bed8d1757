"""Household files split a batch at a time (``app.batches``) as the whole-file reader
reads them: the same partition files to the byte, or the same one-line error."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from app import batches, spill
from app.spill import Spilled, spill_households
from geodx.errors import GeodxError
from geodx.io import read_households
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import HouseholdsSpec

N = 500
BOUNDS = (108.0, 12.5, 108.6, 13.0)  # the region's WGS84 box (communes)
FORMATS = ("csv", "gpkg", "fgb", "geojson", "geoparquet", "shp")


def positions(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(108.0, 108.6, N)
    lat = rng.uniform(12.5, 13.0, N)
    weight = rng.integers(1, 40, N).astype(float)
    weight[::7] += 0.25  # fractional estimates too
    return lon, lat, weight


def write(folder: Path, fmt: str, crs: str = "EPSG:4326", **column: Any) -> Path:
    """``N`` households in ``fmt`` (lon/lat columns for CSV, points otherwise)."""
    lon, lat, weight = positions()
    values = {"so_ho": column.pop("so_ho", weight)}
    if fmt == "csv":
        path = folder / "households.csv"
        frame = pd.DataFrame({"lon": column.pop("lon", lon), "lat": lat, **values})
        frame.to_csv(path, index=False)
        return path
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    geoms = column.pop("geoms", shapely.points(x, y))
    points = gpd.GeoDataFrame(values, geometry=list(geoms), crs=crs)
    if fmt == "geoparquet":
        path = folder / "households.parquet"
        points.to_parquet(path)
        return path
    path = folder / f"households.{fmt}"
    points.to_file(path)
    return path


def spec(path: Path) -> HouseholdsSpec:
    return HouseholdsSpec(path=path, weight="so_ho")


def split(source: Any, folder: Path, limits: Limits = DEFAULT_LIMITS) -> Spilled:
    folder.mkdir()
    return spill_households(
        source, folder, h3_resolution=9, region_bounds=BOUNDS, limits=limits,
        resolution=7,
    )  # fmt: skip


def the_same(a: Spilled, b: Spilled) -> None:
    assert a.crs == b.crs
    assert (a.resolution, a.integral, a.points) == (b.resolution, b.integral, b.points)
    assert a.lnglat_bounds == b.lnglat_bounds
    assert [(p.parent, p.points) for p in a.partitions] == [
        (p.parent, p.points) for p in b.partitions
    ]
    for p, q in zip(a.partitions, b.partitions, strict=True):
        assert p.path.read_bytes() == q.path.read_bytes()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Batches of 64 features (CSV blocks of 2 kB); records each batch's length."""
    monkeypatch.setattr(spill, "BATCH", 64)
    monkeypatch.setattr(batches, "CSV_BLOCK", 2048)
    seen: list[int] = []
    real = batches.Batch

    def counted(*arrays: Any) -> Any:
        seen.append(len(arrays[0]))
        return real(*arrays)

    monkeypatch.setattr(batches, "Batch", counted)
    return seen


def whole(path: Path, folder: Path) -> Spilled:
    """Brute force: the whole file read at once, the points split from memory."""
    points = read_households(spec(path))
    return split(points, folder)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_split_in_batches_as_read_whole(
    fmt: str, tmp_path: Path, small_batches: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, fmt)
    expected = whole(path, tmp_path / "whole")

    def no_whole_read(*_: Any, **__: Any) -> Any:
        raise AssertionError("read whole")

    monkeypatch.setattr(spill, "read_households", no_whole_read)
    got = split(spec(path), tmp_path / "batches")
    the_same(got, expected)
    assert len(small_batches) >= 2 * 4  # two passes, several batches each
    assert sum(small_batches) == 2 * N
    assert len(got.partitions) > 1


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "geoparquet"])
def test_a_projected_file_keeps_its_crs(
    fmt: str, tmp_path: Path, small_batches: list[int]
) -> None:
    """Points in UTM 48N reach the partitions in UTM, transformed as a whole read."""
    path = write(tmp_path, fmt, crs="EPSG:32648")
    got = split(spec(path), tmp_path / "batches")
    expected = whole(path, tmp_path / "whole")
    the_same(got, expected)
    assert got.crs.to_epsg() == 32648
    assert small_batches


def bad_files(folder: Path) -> dict[str, Path]:
    """Each breaks one rule in row 301 (the fifth batch), or as a whole."""
    lon, _, weight = positions()
    text = lon.astype(object)
    text[300] = "abc"
    empty = weight.astype(object)
    empty[300] = None
    huge = weight.copy()
    huge[300] = 1e9
    far = lon + 30
    x, y = positions()[:2]
    geoms = list(shapely.points(x, y))
    geoms[300] = shapely.LineString([(x[300], y[300]), (x[301], y[301])])
    off = list(shapely.points(x, y))
    off[300] = shapely.Point(400.0, y[300])
    made: dict[str, Path] = {}
    cases = {
        "csv-text": ("csv", {"lon": text}),
        "csv-empty-weight": ("csv", {"so_ho": empty}),
        "csv-outside": ("csv", {"lon": far}),
        "gpkg-empty-weight": ("gpkg", {"so_ho": empty}),
        "fgb-huge-weight": ("fgb", {"so_ho": huge}),
        "geojson-line": ("geojson", {"geoms": geoms}),
        "geoparquet-off-earth": ("geoparquet", {"geoms": off}),
    }
    for name, (fmt, column) in cases.items():
        (folder / name).mkdir()
        made[name] = write(folder / name, fmt, **column)
    return made


def test_a_bad_batch_gets_the_whole_file_readers_error(
    tmp_path: Path, small_batches: list[int]
) -> None:
    for name, path in bad_files(tmp_path).items():
        with pytest.raises(GeodxError) as single:
            points = read_households(spec(path))
            from geodx.validate import check_households_in_region

            check_households_in_region(points, BOUNDS, path=path)
        with pytest.raises(GeodxError) as batched:
            split(spec(path), tmp_path / f"out-{name}")
        assert str(batched.value) == str(single.value), name
        assert type(batched.value) is type(single.value), name
        assert str(path) in str(batched.value)
    assert small_batches  # the batches were read, then refused


def test_what_only_the_whole_reader_accepts_is_read_whole(
    tmp_path: Path, small_batches: list[int]
) -> None:
    """A weight ``-0`` in row 201 (an integer column reads it as 0): the batches hand
    the file over to the whole-file reader, and the points are its points."""
    lon, lat, weight = positions()
    path = tmp_path / "households.csv"
    rows = [
        f"{a},{b}, {w}"  # spaces before the weights: both readers take them
        for a, b, w in zip(lon.tolist(), lat.tolist(), weight.tolist(), strict=True)
    ]
    rows[200] = f"{lon[200]},{lat[200]},-0"
    path.write_text("lon,lat,so_ho\n" + "\n".join(rows) + "\n")
    got = split(spec(path), tmp_path / "batches")
    the_same(got, whole(path, tmp_path / "whole"))
    assert 0 < sum(small_batches) <= 200  # refused at the batch holding row 201


def test_limits_are_those_of_the_whole_reader(tmp_path: Path) -> None:
    path = write(tmp_path, "csv")
    limits = Limits(**{**asdict(DEFAULT_LIMITS), "max_features": N - 1})
    with pytest.raises(GeodxError) as single:
        read_households(spec(path), limits=limits)
    with pytest.raises(GeodxError) as batched:
        split(spec(path), tmp_path / "batches", limits=limits)
    assert str(batched.value) == str(single.value)
    assert f"{N:,} features" in str(batched.value)
