"""Demo regions on real boundaries: households per commune, strictly inside it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import polars as pl
import pytest
import shapely

from data import build_real_region
from data.census import carry_households, legacy_names, read_census, read_crosswalk
from data.errors import DemoInputError
from geodx.carry_io import boundary_communes, read_boundaries
from geodx.errors import MissingColumn

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def households_by_commune(region: Path) -> tuple[pd.Series, int]:
    """Weight per commune code (point in polygon), and points in 0 or 2+ communes."""
    manifest = tomllib.loads(region.read_text(encoding="utf-8"))
    communes = gpd.read_parquet(region.parent / manifest["communes"]["path"])
    table = pl.read_parquet(region.parent / "households.parquet")
    points = shapely.points(table["lon"].to_numpy(), table["lat"].to_numpy())
    point, commune = communes.sindex.query(points, predicate="covered_by")
    hits = np.bincount(point, minlength=len(points))
    code = communes[manifest["communes"]["code"]].to_numpy()[commune]
    weight = table["households"].to_numpy()[point]
    per_commune = pd.Series(weight).groupby(code).sum()
    return per_commune, int((hits != 1).sum())


# -- small hand-made boundaries: always runs ---------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small")
    squares = [
        shapely.box(108.0, 12.5, 108.1, 12.6),
        shapely.box(108.1, 12.5, 108.2, 12.6),
    ]
    squares.append(shapely.box(108.19, 12.5, 108.3, 12.6))  # overlaps its neighbour
    gpd.GeoDataFrame(
        {"ma_xa": ["00001", "00004", "00007"], "ten_xa": ["Xã A", "Phường B", "Xã C"]},
        geometry=squares,
        crs=4326,
    ).to_file(folder / "bounds.gpkg")
    (folder / "census.csv").write_text(
        "ma_xa,so_ho,ten_xa\n1,1200,Xã A\n4,3000,Phường B\n,800,Xã C\n,5,Xã Z\n",
        encoding="utf-8",
    )
    return build_real_region(
        folder / "region",
        boundaries=folder / "bounds.gpkg",
        households_table=folder / "census.csv",
        table_count_column="so_ho",
    )


def test_small_region_places_exact_counts(small: Path) -> None:
    per_commune, ambiguous = households_by_commune(small)
    assert per_commune.to_dict() == {"00001": 1200, "00004": 3000, "00007": 800}
    assert ambiguous == 0  # none in the overlap, none outside


def test_small_region_report_and_manifest(small: Path) -> None:
    report = json.loads((small.parent / "carry_report.json").read_text("utf-8"))
    assert report["carried_households"] == 5000
    assert (report["not_placed_households"], report["not_placed_rows"]) == (5, 1)
    assert report["rows_by_rule"] == {"code": 2, "name": 1, "not-placed": 1}
    listed = pl.read_csv(small.parent / "households_not_placed.csv")
    assert listed.columns == [
        "province", "district", "old_code", "name", "households", "reason"
    ]  # fmt: skip
    assert listed.select("name", "households").rows() == [("Xã Z", 5)]
    manifest = tomllib.loads(small.read_text(encoding="utf-8"))
    assert manifest["communes"] == {
        "path": "communes.parquet",
        "code": "ma_xa",
        "name": "ten_xa",
    }
    assert manifest["region"]["synthetic"] is True
    assert "synthetic" in manifest["region"]["name"]
    # nine coverage maps, a site list and the measured tiles
    assert len(manifest["layers"]) == 11
    assert manifest["layers"][-1]["kind"] == "measured"


def test_small_region_is_deterministic(small: Path, tmp_path: Path) -> None:
    again = build_real_region(
        tmp_path / "again",
        boundaries=small.parent.parent / "bounds.gpkg",
        households_table=small.parent.parent / "census.csv",
        table_count_column="so_ho",
    )
    for path in sorted(small.parent.iterdir()):
        assert (again.parent / path.name).read_bytes() == path.read_bytes(), path.name


def test_missing_columns_name_the_file(tmp_path: Path) -> None:
    gpd.GeoDataFrame(
        {"id": ["1"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326
    ).to_file(tmp_path / "b.gpkg")
    (tmp_path / "c.csv").write_text("ward_code,hh_total\n1,5\n", encoding="utf-8")
    with pytest.raises(MissingColumn, match=r"b\.gpkg: none of the columns ward_code"):
        build_real_region(
            tmp_path / "out",
            boundaries=tmp_path / "b.gpkg",
            households_table=tmp_path / "c.csv",
        )


def test_nothing_matched_is_an_error(small: Path, tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("ward_code,hh_total\n99999,5\n", encoding="utf-8")
    bounds = small.parent.parent / "bounds.gpkg"
    with pytest.raises(DemoInputError, match="no row matched"):
        build_real_region(
            tmp_path / "out", boundaries=bounds, households_table=tmp_path / "c.csv"
        )


# -- two provinces, each with a commune of the same name (issue 6, D12) -------------


def test_a_census_row_never_lands_outside_its_province(tmp_path: Path) -> None:
    gpd.GeoDataFrame(
        {
            "ward_code": ["24100", "24103"],
            "official_name": ["Xã Hòa Phú", "Phường Tân An"],
            "province_code": ["66", "66"],
            "province_name": ["Đắk Lắk", "Đắk Lắk"],
        },
        geometry=[
            shapely.box(108.0, 12.5, 108.1, 12.6),
            shapely.box(108.1, 12.5, 108.2, 12.6),
        ],
        crs=4326,
    ).to_file(tmp_path / "bounds.gpkg")
    # Both provinces have a Xã Hòa Phú; the table names it without codes (renamed
    # communes have none); a name with a formula is listed, never run.
    (tmp_path / "census.csv").write_text(
        "province_name,district_name,commune_name,hh_total,ward_code_2024,"
        "district_code_2024,province_code_2024\n"
        "Tỉnh Đắk Lắk,Huyện Cư Kuin,Xã Hòa Phú,1200,,,\n"
        "Tỉnh Đắk Lắk,Thành phố Buôn Ma Thuột,Phường Tân An,3000,24103,643,66\n"
        "Tỉnh Đắk Lắk,Huyện Cư Kuin,=HYPERLINK(1),7,,,\n"
        "Thành phố Hà Nội,Huyện Quốc Oai,Xã Hòa Phú,9000,,,\n"
        "Thành phố Hà Nội,Quận Ba Đình,Phường Phúc Xá,5000,00001,001,01\n",
        encoding="utf-8",
    )
    region = build_real_region(
        tmp_path / "region",
        boundaries=tmp_path / "bounds.gpkg",
        households_table=tmp_path / "census.csv",
    )
    per_commune, ambiguous = households_by_commune(region)
    assert per_commune.to_dict() == {"24100": 1200, "24103": 3000}  # not 10,200
    assert ambiguous == 0
    report = json.loads((region.parent / "carry_report.json").read_text("utf-8"))
    assert report["outside_by_province"] == {"Thành phố Hà Nội": 14000}
    assert report["region_households"] == 4207
    listed = (region.parent / "households_not_placed.csv").read_text("utf-8-sig")
    assert listed.splitlines()[1:] == [
        "Tỉnh Đắk Lắk,Huyện Cư Kuin,,'=HYPERLINK(1),7,"
        "no code; name not found in its district or province; old district unknown"
    ]


# -- the real Đắk Lắk files: skipped when ../shared/data is absent ---------------


@pytest.fixture(scope="module")
def daklak(tmp_path_factory: pytest.TempPathFactory) -> Path:
    needed = [
        "daklak_communes_2025.parquet",
        "daklak_census2019_commune_households.csv",
        "vn_commune_crosswalk_2024_2025.parquet",
    ]
    if not all((SHARED / name).is_file() for name in needed):
        pytest.skip(f"real test data not found in {SHARED}")
    return build_real_region(
        tmp_path_factory.mktemp("daklak"),
        boundaries=SHARED / needed[0],
        households_table=SHARED / needed[1],
        crosswalk=SHARED / needed[2],
    )


def test_daklak_households_follow_the_census_through_the_crosswalk(
    daklak: Path,
) -> None:
    census = pd.read_csv(SHARED / "daklak_census2019_commune_households.csv", dtype=str)
    census["hh_total"] = census["hh_total"].astype(int)
    crosswalk = pd.read_parquet(SHARED / "vn_commune_crosswalk_2024_2025.parquet")
    boundaries = gpd.read_parquet(SHARED / "daklak_communes_2025.parquet")
    # The coded rows of old communes that were not split go whole to their target
    # (the rules on the synthetic tables: tests/carry).
    whole = crosswalk[~crosswalk["split"]]
    joined = census.merge(whole, left_on="ward_code_2024", right_on="old_ward_code")
    joined = joined[joined["new_ward_code"].isin(boundaries["ward_code"])]
    expected = joined.groupby("new_ward_code")["hh_total"].sum()

    per_commune, ambiguous = households_by_commune(daklak)
    assert ambiguous == 0
    assert (per_commune.reindex(expected.index) >= expected).all()
    report = json.loads((daklak.parent / "carry_report.json").read_text("utf-8"))
    assert report["census_households"] == 487_951
    assert report["carried_households"] == per_commune.sum() == 487_951
    assert report["not_placed_households"] == 0
    assert len(report["communes_without_households"]) == 34  # old Phú Yên's
    assert per_commune.to_dict() == report["per_commune"]


# The national census is the one table holding both old Đắk Lắk and old Phú Yên, which
# the 2025 merger joined into the new Đắk Lắk (102 communes).
OLD_PROVINCES = ("Tỉnh Đắk Lắk", "Tỉnh Phú Yên")
OLD_HOUSEHOLDS = 748_387  # their 2019 census households


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    needed = [
        "daklak_communes_2025.parquet",
        "vn_census2019_commune_households.parquet",
        "vn_commune_crosswalk_2024_2025.parquet",
    ]
    if not all((SHARED / name).is_file() for name in needed):
        pytest.skip(f"real test data not found in {SHARED}")
    return build_real_region(
        tmp_path_factory.mktemp("merged") / "region",
        boundaries=SHARED / needed[0],
        households_table=SHARED / needed[1],
        crosswalk=SHARED / needed[2],
    )


def test_national_census_places_only_the_two_old_provinces(
    merged: Path, tmp_path: Path
) -> None:
    census = pl.read_parquet(SHARED / "vn_census2019_commune_households.parquet")
    own = census.filter(pl.col("province_name").is_in(OLD_PROVINCES))
    assert own["hh_total"].sum() == OLD_HOUSEHOLDS
    per_commune, ambiguous = households_by_commune(merged)
    assert ambiguous == 0
    placed = int(per_commune.sum())
    assert placed <= OLD_HOUSEHOLDS  # 1,187,159 when names matched country-wide

    # The same region from the two old provinces' rows alone: the 61 other
    # provinces add not one household anywhere.
    own.write_parquet(tmp_path / "own.parquet")
    rows = read_census(tmp_path / "own.parquet")
    communes, code, name = read_boundaries(
        SHARED / "daklak_communes_2025.parquet", None, None
    )
    alone = carry_households(
        rows,
        boundary_communes(communes, code, name),
        read_crosswalk(SHARED / "vn_commune_crosswalk_2024_2025.parquet"),
        legacy_names(),
    )
    assert per_commune.to_dict() == alone.per_commune

    report = json.loads((merged.parent / "carry_report.json").read_text("utf-8"))
    assert report["region_households"] == OLD_HOUSEHOLDS
    assert report["carried_households"] == placed == OLD_HOUSEHOLDS  # every one
    assert report["outside_households"] == census["hh_total"].sum() - OLD_HOUSEHOLDS
    assert len(report["outside_by_province"]) == 61
    assert report["communes_without_households"] == []  # all 102 have households
    listed = pl.read_csv(merged.parent / "households_not_placed.csv")
    assert listed.height == report["not_placed_rows"] == 0
