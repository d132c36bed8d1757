"""``geodx counts`` on the real 2019 census and 2025 Đắk Lắk (skipped without the data)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import polars as pl
import pytest
from typer.testing import CliRunner

from app.cli import app
from geodx.carry_io import report_path

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
BOUNDARIES = SHARED / "daklak_communes_2025.parquet"
CENSUS = SHARED / "vn_census2019_commune_households.parquet"
CROSSWALK = SHARED / "vn_commune_crosswalk_2024_2025.parquet"
OLD_PROVINCES = ("Tỉnh Đắk Lắk", "Tỉnh Phú Yên")  # merged into the new Đắk Lắk
OLD_HOUSEHOLDS = 748_387


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not all(p.is_file() for p in (BOUNDARIES, CENSUS, CROSSWALK)):
        pytest.skip(f"real test data not found in {SHARED}")
    out = tmp_path_factory.mktemp("counts") / "daklak_households.parquet"
    args = ["counts", "--census", str(CENSUS), "--crosswalk", str(CROSSWALK)]
    args += ["--boundaries", str(BOUNDARIES), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "748,387 of 748,387 census households placed on 102 communes" in (
        result.output
    )
    return out


def test_every_household_of_the_two_old_provinces_on_every_commune(
    counted: Path,
) -> None:
    census = pl.read_parquet(CENSUS)
    own = census.filter(pl.col("province_name").is_in(OLD_PROVINCES))
    assert own["hh_total"].sum() == OLD_HOUSEHOLDS
    table = pl.read_parquet(counted)
    boundaries = gpd.read_parquet(BOUNDARIES)
    assert sorted(table["commune_code"]) == sorted(boundaries["ward_code"])
    assert table.height == 102
    assert table["households"].sum() == OLD_HOUSEHOLDS  # whole households: exact
    assert table["households"].min() > 0  # every commune gets households
    parts = table["households_by_code"] + table["households_by_name"]
    assert (parts + table["households_spread"] == table["households"]).all()


def test_the_report_lists_every_census_row_and_no_other_province_is_used(
    counted: Path,
) -> None:
    report = pl.read_csv(report_path(counted), infer_schema=False)
    census = pl.read_parquet(CENSUS)
    assert report.height == census.height
    assert report["households"].cast(pl.Int64).to_list() == census["hh_total"].to_list()
    own = report["province"].is_in(OLD_PROVINCES)
    assert set(report.filter(~own)["rule"]) == {"other-province"}
    assert set(report.filter(~own)["new_codes"].fill_null("")) == {""}
    mine = report.filter(own)
    assert "not-placed" not in set(mine["rule"])
    codes = set(gpd.read_parquet(BOUNDARIES)["ward_code"])
    for cell, n in zip(mine["new_codes"], mine["households"], strict=True):
        shares = dict(part.split(":") for part in cell.split(";"))
        assert set(shares) <= codes
        assert sum(int(v) for v in shares.values()) == int(n)


def test_coded_rows_follow_the_crosswalk_as_a_plain_join(counted: Path) -> None:
    census = pd.read_parquet(CENSUS)
    census = census[census["province_name"].isin(OLD_PROVINCES)]
    crosswalk = pd.read_parquet(CROSSWALK)
    boundaries = gpd.read_parquet(BOUNDARIES)
    names = dict(zip(boundaries["official_name"], boundaries["ward_code"], strict=True))
    expected: dict[str, float] = {}
    split_rows = 0
    for code, n in zip(census["ward_code_2024"], census["hh_total"], strict=True):
        targets = crosswalk[crosswalk["old_ward_code"] == code]
        inside = targets[targets["new_ward_code"].isin(boundaries["ward_code"])]
        if code is None or targets.empty:
            continue
        if inside.empty:  # codes disagree: the default target's name
            default = targets[targets["is_default"]].iloc[0]
            inside = pd.DataFrame({"new_ward_code": [names[default["new_ward_name"]]]})
        split_rows += len(inside) > 1
        for new in inside["new_ward_code"]:
            expected[new] = expected.get(new, 0) + n / len(inside)
    table = pl.read_parquet(counted)
    got = dict(zip(table["commune_code"], table["households_by_code"], strict=True))
    assert split_rows == 6
    for code, n in got.items():
        assert abs(n - expected.get(code, 0)) <= 1  # whole households of split rows
    assert sum(got.values()) == round(sum(expected.values()))


def test_the_demo_takes_the_table_as_households_per_commune(
    counted: Path, tmp_path: Path
) -> None:
    out = tmp_path / "region"
    args = ["demo", "--boundaries", str(BOUNDARIES), "--households-table"]
    result = CliRunner().invoke(app, [*args, str(counted), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "carry_report.json").read_text("utf-8"))
    assert report["carried_households"] == OLD_HOUSEHOLDS
    assert report["communes_without_households"] == []
    table = pl.read_parquet(counted)
    assert report["per_commune"] == dict(
        zip(table["commune_code"], table["households"], strict=True)
    )
    # ... and the README's third command runs the region built on it.
    done = CliRunner().invoke(app, ["run", str(out), "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert summary["households"] == OLD_HOUSEHOLDS
    assert summary["communes_with_households"] == summary["communes"] == 102
