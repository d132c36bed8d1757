"""B5: declared sizes are checked before reading, with the limit in the message."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geodx.errors import InputFileError, InputTooLarge, LimitsError
from geodx.io import read_communes, read_households, read_vector
from geodx.limits import DEFAULT_LIMITS, Limits, limits_from_env

from .helpers import communes, communes_file, households


@pytest.mark.parametrize("name", ["c.geojson", "c.gpkg", "c.fgb", "c.shp"])
def test_a_file_beyond_the_size_limit_is_refused(tmp_path: Path, name: str) -> None:
    path = communes_file(tmp_path / name)
    with pytest.raises(InputTooLarge) as info:
        read_communes(communes(path), limits=Limits(max_file_bytes=50))
    message = str(info.value)
    assert "\n" not in message and "limit is 50" in message
    assert "GEODX_MAX_FILE_BYTES" in message


def test_a_shapefile_part_counts_too(tmp_path: Path) -> None:
    path = communes_file(tmp_path / "c.shp")
    limit = path.stat().st_size  # the .shp fits; its .dbf does not
    assert (tmp_path / "c.dbf").stat().st_size > limit
    with pytest.raises(InputTooLarge, match=r"c\.dbf"):
        read_communes(communes(path), limits=Limits(max_file_bytes=limit))


@pytest.mark.parametrize("name", ["c.geojson", "c.gpkg", "c.fgb", "c.shp", "c.parquet"])
def test_more_features_than_the_limit_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".parquet"):
        gpd.read_file(communes_file(tmp_path / "c.gpkg")).to_parquet(path)
    else:
        communes_file(path)
    with pytest.raises(InputTooLarge, match="2 features; the limit is 1"):
        read_communes(communes(path), limits=Limits(max_features=1))


@pytest.mark.parametrize("name", ["ho.csv", "ho.parquet"])
def test_household_tables_have_a_row_limit(tmp_path: Path, name: str) -> None:
    frame = pd.DataFrame({"lon": [108.01, 108.02], "lat": [12.61, 12.61]})
    path = tmp_path / name
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    with pytest.raises(InputTooLarge, match="GEODX_MAX_FEATURES"):
        read_households(households(path), limits=Limits(max_features=1))
    assert len(read_households(households(path))) == 2


def test_more_vertices_than_the_limit_are_refused(tmp_path: Path) -> None:
    path = communes_file(tmp_path / "c.gpkg")  # two boxes: 10 vertices
    with pytest.raises(InputTooLarge, match="10 vertices; the limit is 9"):
        read_vector(path, role="communes", limits=Limits(max_vertices=9))
    assert len(read_vector(path, role="communes", limits=Limits(max_vertices=10))) == 2


def test_limits_come_from_geodx_max_variables() -> None:
    env = {"GEODX_MAX_FEATURES": "1_000", "GEODX_MAX_FILE_BYTES": " 2048 ", "PATH": "x"}
    limits = limits_from_env(env)
    assert (limits.max_features, limits.max_file_bytes) == (1000, 2048)
    assert limits.max_vertices == DEFAULT_LIMITS.max_vertices
    # another setting of the same prefix (the service's page size) is not a limit
    assert limits_from_env({"GEODX_MAX_LIMIT": "50"}) == DEFAULT_LIMITS


@pytest.mark.parametrize("raw", ["0", "-5", "lots", "1e6", ""])
def test_a_bad_limit_variable_is_refused_in_one_line(raw: str) -> None:
    with pytest.raises(LimitsError, match="GEODX_MAX_VERTICES was"):
        limits_from_env({"GEODX_MAX_VERTICES": raw})


def test_the_weight_cap_is_a_limit(tmp_path: Path) -> None:
    path = tmp_path / "ho.csv"
    pd.DataFrame({"lon": [108.01], "lat": [12.61], "ho": [50]}).to_csv(
        path, index=False
    )
    with pytest.raises(InputTooLarge, match="limit is 10 households per point"):
        read_households(households(path, "ho"), limits=Limits(max_household_weight=10))


def test_the_geometry_check_is_vectorised() -> None:
    """1.6 million vertices checked without a Python loop over the geometries.

    Counted, not timed: the Python and C calls the check makes (``sys.setprofile``
    events) are as many for 50,000 polygons as for 5,000, and few; a loop calling one
    function per geometry makes 2 events each.
    """
    import sys

    from geodx.formats import check_geometries

    def events(n: int) -> int:
        centres = shapely.points(np.random.default_rng(1).random((n, 2)))
        geoms = shapely.buffer(centres, 0.001)
        count = [0]

        def profile(*_: object) -> None:
            count[0] += 1

        sys.setprofile(profile)
        try:
            check_geometries(
                geoms, path=Path("x.fgb"), role="layer", limits=DEFAULT_LIMITS
            )
        finally:
            sys.setprofile(None)
        return count[0]

    few, many = events(5_000), events(50_000)
    assert few == many < 1_000, (few, many)


def test_parquet_households_columns_must_be_numbers(tmp_path: Path) -> None:
    """A text column could decode to any size; numbers are 8 bytes a row."""
    path = tmp_path / "ho.parquet"
    pd.DataFrame({"lon": ["108.01"], "lat": [12.61]}).to_parquet(path)
    with pytest.raises(
        InputFileError, match="column 'lon' is (large_)?string, not numeric"
    ):
        read_households(households(path))


def test_a_geoparquet_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    """A few kilobytes of Parquet that decode to 20 MB of commune names."""
    path = tmp_path / "xa.parquet"
    frame = gpd.GeoDataFrame(
        {"ma_xa": [str(i) for i in range(20)], "ten_xa": ["x" * 1_000_000] * 20},
        geometry=[shapely.Point(108.0, 12.6)] * 20,
        crs=4326,
    )
    frame.to_parquet(path, compression="zstd")
    assert path.stat().st_size < 20_000
    with pytest.raises(InputTooLarge) as info:
        read_vector(path, role="communes", limits=Limits(max_decoded_bytes=1_000_000))
    assert "GEODX_MAX_DECODED_BYTES" in str(info.value)
    assert "\n" not in str(info.value)
    assert len(read_vector(path, role="communes")) == 20


def test_a_bomb_in_a_renamed_geometry_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fibre.parquet"
    lines = [shapely.LineString(np.c_[np.zeros(20_000), np.arange(20_000)])] * 30
    frame = gpd.GeoDataFrame(geometry=lines, crs=4326).rename_geometry("duong")
    frame.to_parquet(path, compression="zstd")
    with pytest.raises(InputTooLarge, match="GEODX_MAX_DECODED_BYTES"):
        read_vector(
            path,
            columns=[],
            role="layer 'fibre'",
            limits=Limits(max_decoded_bytes=10**6),
        )


def test_a_geoparquet_layer_with_a_renamed_geometry_reads(tmp_path: Path) -> None:
    path = tmp_path / "fibre.parquet"
    frame = gpd.GeoDataFrame(
        {"ten": ["a"]}, geometry=[shapely.Point(108, 12.6)], crs=4326
    )
    frame.rename_geometry("duong").to_parquet(path)
    assert read_vector(path, columns=[], role="layer 'fibre'").geometry.name == "duong"
