"""Counts tables, spread files and the ``[households]`` keys: one-line refusals."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import CRS

from geodx.counts import estimate_households, read_counts_table
from geodx.errors import GeodxError, ManifestError
from geodx.io import read_communes
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest import load_manifest
from geodx.manifest_specs import (
    CommunesSpec,
    CountsSpec,
    HouseholdsSpec,
)

from .world import (
    UTM,
    X0,
    Y0,
    write_communes,
    write_counts,
    write_density,
    write_manifest,
)


def spec(path: Path, **kw: object) -> CountsSpec:
    return CountsSpec(counts=path, code="ma", households="so_ho", **kw)  # type: ignore[arg-type]


def refusal(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    with pytest.raises(GeodxError) as info:
        read_counts_table(spec(path), limits=limits)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_codes_stay_text_with_their_leading_zeros(tmp_path: Path) -> None:
    path = write_counts(tmp_path / "c.csv", {"00004": 3, "00007": 0})
    codes, counts = read_counts_table(spec(path), limits=DEFAULT_LIMITS)
    assert codes.tolist() == ["00004", "00007"] and counts.tolist() == [3.0, 0.0]
    parquet = tmp_path / "c.parquet"
    pd.DataFrame({"ma": [24001, 24002], "so_ho": [1.5, 2.0]}).to_parquet(parquet)
    codes, _ = read_counts_table(spec(parquet), limits=DEFAULT_LIMITS)
    assert codes.tolist() == ["24001", "24002"]


def test_a_missing_column_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    pd.DataFrame({"ma": ["001"], "ho": [3]}).to_csv(path, index=False)
    message = refusal(path)
    assert "'so_ho' ([households] households) not found" in message
    assert "columns are: ma, ho" in message


@pytest.mark.parametrize(
    ("values", "what", "row"),
    [
        (["3", "-1", "2"], "is negative in data row 2", 2),
        (["3", "", "2"], "is empty, not a number or infinite in data row 2", 2),
        (["3", "2", "nan"], "is empty, not a number or infinite in data row 3", 3),
        (["3", "many", "2"], "is empty, not a number or infinite in data row 2", 2),
        (["3", "inf", "2"], "is empty, not a number or infinite in data row 2", 2),
    ],
)
def test_bad_counts_name_file_column_and_row(
    tmp_path: Path, values: list[str], what: str, row: int
) -> None:
    path = tmp_path / "c.csv"
    lines = ["ma,so_ho"] + [f"00{i},{v}" for i, v in enumerate(values, 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = refusal(path)
    assert f"column 'so_ho' ([households] households) {what}" in message
    assert message.endswith(f"data row {row}")


def test_a_count_above_the_limit_is_refused(tmp_path: Path) -> None:
    path = write_counts(tmp_path / "c.csv", {"001": 5, "002": 2_000})
    message = refusal(path, Limits(max_household_weight=1_000))
    assert "2000 in data row 2" in message and "GEODX_MAX_HOUSEHOLD_WEIGHT" in message


def test_duplicate_and_empty_codes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("ma,so_ho\n001,3\n002,4\n001,5\n", encoding="utf-8")
    message = refusal(path)
    assert (
        "column 'ma' ([households] code): code '001' appears more than once" in message
    )
    assert "data row 3" in message
    path.write_text("ma,so_ho\n001,3\n,4\n", encoding="utf-8")
    assert "column 'ma' ([households] code) is empty in data row 2" in refusal(path)


def test_other_formats_are_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    path.write_bytes(b"PK")
    assert "not a format geodx reads" in refusal(path)
    fake = tmp_path / "c.parquet"
    fake.write_text("ma,so_ho\n001,3\n", encoding="utf-8")
    refusal(fake)


def communes(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = write_communes(tmp_path / "c.gpkg")
    return read_communes(CommunesSpec(path, code="ma_xa", name="ten_xa"))


def test_the_raster_is_read_within_the_window_budget(tmp_path: Path) -> None:
    counts = write_counts(tmp_path / "c.csv")
    tif = write_density(tmp_path / "pop.tif", tiled=True, blockxsize=16, blockysize=16)
    small = Limits(max_raster_window_bytes=16 * 16 * 4)  # five rows at a time
    got = [
        estimate_households(
            spec(counts, spread=tif), communes(tmp_path), utm=CRS(UTM), limits=limits
        )[0].points.weight
        for limits in (DEFAULT_LIMITS, small)
    ]
    np.testing.assert_array_equal(np.sort(got[0]), np.sort(got[1]))
    too_small = Limits(max_raster_window_bytes=100)
    with pytest.raises(GeodxError, match="GEODX_MAX_RASTER_WINDOW_BYTES"):
        estimate_households(
            spec(counts, spread=tif), communes(tmp_path), utm=CRS(UTM), limits=too_small
        )
    with pytest.raises(GeodxError, match="GEODX_MAX_RASTER_PIXELS"):
        estimate_households(
            spec(counts, spread=tif),
            communes(tmp_path),
            utm=CRS(UTM),
            limits=Limits(max_raster_pixels=100),
        )


def test_only_pixels_over_the_communes_are_read(tmp_path: Path) -> None:
    """A raster far larger than the region: only the window over the communes."""
    tif = tmp_path / "big.tif"
    profile = {
        "driver": "GTiff", "width": 20_000, "height": 20_000, "count": 1,
        "dtype": "uint8", "crs": UTM, "tiled": True, "blockxsize": 256,
        "blockysize": 256, "sparse_ok": True,
        "transform": rasterio.transform.from_origin(X0 - 1_000_000, Y0 + 1_000_000, 100, 100),
    }  # fmt: skip
    with rasterio.open(tif, "w", **profile) as dst:
        dst.write(
            np.ones((100, 100), dtype=np.uint8),
            1,
            window=((9_950, 10_000), (10_000, 10_050)),
        )
    limits = Limits(max_raster_window_bytes=20_000 * 300)
    spread, _ = estimate_households(
        spec(write_counts(tmp_path / "c.csv"), spread=tif),
        communes(tmp_path),
        utm=CRS(UTM),
        limits=limits,
    )
    assert spread.fallback.tolist() == [False, False, False, False, True]
    assert len(spread.points) == 3 * 20 * 20 + 1  # 001-003: 400 pixels each; 005


def test_a_vrt_named_tif_is_refused(tmp_path: Path) -> None:
    tif = tmp_path / "pop.tif"
    tif.write_text("<VRTDataset rasterXSize='1' rasterYSize='1'></VRTDataset>")
    with pytest.raises(GeodxError, match="cannot be read as a GeoTIFF"):
        estimate_households(
            spec(write_counts(tmp_path / "c.csv"), spread=tif),
            communes(tmp_path),
            utm=CRS(UTM),
            limits=DEFAULT_LIMITS,
        )


# --- the manifest ------------------------------------------------------------------
def manifest_with(tmp_path: Path, keys: str) -> Path:
    write_communes(tmp_path / "communes.gpkg")
    write_counts(tmp_path / "census.csv")
    write_density(tmp_path / "pop.tif")
    return write_manifest(tmp_path, keys)


def test_counts_keys_are_parsed(tmp_path: Path) -> None:
    keys = 'counts = "census.csv"\ncode = "ma"\nhouseholds = "so_ho"\n'
    keys += 'spread = "pop.tif"\nvintage = 2019-04-01\n'
    got = load_manifest(manifest_with(tmp_path, keys)).households
    assert got == CountsSpec(
        counts=(tmp_path / "census.csv").resolve(),
        code="ma",
        households="so_ho",
        spread=(tmp_path / "pop.tif").resolve(),
        vintage="2019-04-01",
    )
    plain = load_manifest(manifest_with(tmp_path, 'counts = "census.csv"')).households
    assert plain == CountsSpec(counts=(tmp_path / "census.csv").resolve())
    points = load_manifest(manifest_with(tmp_path, 'path = "census.csv"')).households
    assert isinstance(points, HouseholdsSpec)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            'path = "census.csv"\ncounts = "census.csv"',
            "give 'path' (points) or 'counts'",
        ),
        ('counts = "census.csv"\nlon = "x"', "unknown key 'lon'"),
        ('counts = "census.csv"\nvintage = "April 2019"', "expected an ISO date"),
        ('counts = "census.csv"\nvintage = 2019', "expected an ISO date"),
        (
            'counts = "census.csv"\nvintage = 2019-04-01T10:00:00',
            "expected an ISO date",
        ),
        ('counts = "missing.csv"', "counts 'missing.csv' does not exist"),
        (
            'counts = "census.csv"\nspread = "none.tif"',
            "spread 'none.tif' does not exist",
        ),
        (
            'counts = "/vsicurl/http://x/c.csv"',
            "'counts' is a GDAL virtual file system",
        ),
        ('counts = "census.csv"\ncode = 5', "'code' must be a string"),
    ],
)
def test_bad_counts_keys_are_one_line_manifest_errors(
    tmp_path: Path, keys: str, message: str
) -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(manifest_with(tmp_path, keys))
    assert message in str(info.value) and "[households]" in str(info.value)
    assert "\n" not in str(info.value)


def test_building_files_are_checked(tmp_path: Path) -> None:
    counts = write_counts(tmp_path / "c.csv")
    path = tmp_path / "b.gpkg"
    lines = [shapely.LineString([(X0 + 10, Y0 + 10), (X0 + 20, Y0 + 20)])]
    boxes = [shapely.box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20)]
    gpd.GeoDataFrame(geometry=boxes, crs=UTM).to_file(path, layer="nha")
    gpd.GeoDataFrame(geometry=lines, crs=UTM).to_file(path, layer="duong")

    def run(layer: str | None) -> str:
        with pytest.raises(GeodxError) as info:
            estimate_households(
                spec(counts, spread=path, layer=layer),
                communes(tmp_path),
                utm=CRS(UTM),
                limits=DEFAULT_LIMITS,
            )
        assert "\n" not in str(info.value) and str(path) in str(info.value)
        return str(info.value)

    assert "set [households] layer" in run(None)
    assert "must be all polygons (footprints) or all points" in run("duong")
    assert "row 1 has LineString" in run("duong")
    spread, _ = estimate_households(
        spec(counts, spread=path, layer="nha"),
        communes(tmp_path),
        utm=CRS(UTM),
        limits=DEFAULT_LIMITS,
    )
    assert spread.points.x[0] == X0 + 15 and spread.fallback.tolist()[:3] == [
        False,
        True,
        True,
    ]


def test_a_raster_without_crs_or_with_a_zero_scale_is_refused(tmp_path: Path) -> None:
    counts = write_counts(tmp_path / "c.csv")
    tif = tmp_path / "nocrs.tif"
    with rasterio.open(
        tif, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8",
        transform=rasterio.transform.from_origin(X0, Y0 + 400, 100, 100),
    ) as dst:  # fmt: skip
        dst.write(np.ones((4, 4), dtype=np.uint8), 1)
    zero = write_density(tmp_path / "zero.tif")
    with rasterio.open(zero, "r+") as dst:
        dst.scales = (0.0,)
    for path, message in ((tif, "has no CRS"), (zero, "has scale 0")):
        with pytest.raises(GeodxError, match=message) as info:
            estimate_households(
                spec(counts, spread=path),
                communes(tmp_path),
                utm=CRS(UTM),
                limits=DEFAULT_LIMITS,
            )
        assert str(path) in str(info.value)
