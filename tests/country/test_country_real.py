"""`geodx demo --country` on real data: a small province of the national files.

Reads ``../shared/data`` (skipped without it), never copies it: the province's
communes are written to a temporary file, the national census and crosswalk are
passed whole (rows of the other 33 provinces are left out and counted).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import polars as pl
import pytest
from typer.testing import CliRunner

from app.cli import app

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
BOUNDARIES = SHARED / "vn_communes_2025.parquet"
CENSUS = SHARED / "vn_census2019_commune_households.parquet"
CROSSWALK = SHARED / "vn_commune_crosswalk_2024_2025.parquet"
PROVINCES = ("12",)  # Lai Châu: unchanged in 2025, small

pytestmark = pytest.mark.skipif(
    not all(p.is_file() for p in (BOUNDARIES, CENSUS, CROSSWALK)),
    reason="../shared/data not present",
)


def test_a_real_province(tmp_path: Path) -> None:
    communes = gpd.read_parquet(BOUNDARIES)
    communes[communes["province_code"].isin(PROVINCES)].to_parquet(
        tmp_path / "communes.parquet"
    )
    out = tmp_path / "region"
    args = ["demo", "--country", "--out", str(out)]
    args += ["--boundaries", str(tmp_path / "communes.parquet")]
    args += ["--households-table", str(CENSUS), "--crosswalk", str(CROSSWALK)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "carry_report.json").read_text(encoding="utf-8"))
    census = pd.read_parquet(CENSUS)
    coded = census["province_code_2024"].isin(PROVINCES)
    # A row without a province code is of the province its name names on other rows.
    own = census["province_name"].isin(set(census.loc[coded, "province_name"]))
    # Every census household of the province is placed or listed, none lost.
    assert report["region_households"] == int(census.loc[own, "hh_total"].sum())
    assert (
        report["carried_households"] + report["not_placed_households"]
        == (report["region_households"])
    )
    assert report["outside_households"] == int(census.loc[~own, "hh_total"].sum())
    weights = pl.read_parquet(out / "households.parquet")["households"]
    assert int(weights.sum()) == report["carried_households"]
    assert report["carried_households"] >= 0.99 * report["region_households"]
