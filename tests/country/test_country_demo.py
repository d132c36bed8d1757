"""`geodx demo --country` end to end on a small generated country of three provinces.

The country has what broke the national build: a commune valid in WGS84 that
self-intersects once projected into the region's UTM zone (49N), a commune without a
code that the crosswalk names (its ``source_id``), census rows of a renamed province
without any code (Thừa Thiên Huế, now Huế, 46), and rows no rule can place.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import polars as pl
import pyproj
import pytest
import shapely
from typer.testing import CliRunner

from app.cli import app

PROVINCES = {"01": (105.48, "Hà Nội"), "48": (108.2, "Đà Nẵng"), "46": (110.6, "Huế")}
UTM_49N = 32649


def spike_square(x0: float, y0: float) -> shapely.Polygon:
    """A 0.02° square with a 1 mm-wide spike at its north-east corner.

    Valid in WGS84; once projected into UTM 49N, the spike's two edges cross.
    """
    a = np.array([x0 + 0.02, y0 + 0.02])
    u = np.array([np.cos(0.3), np.sin(0.3)])
    tip, back = a + 0.004 * u, a + 0.002 * u + 1e-8 * np.array([-u[1], u[0]])
    ring = [
        tuple(a),
        tuple(tip),
        tuple(back),
        (x0, y0 + 0.02),
        (x0, y0),
        (x0 + 0.02, y0),
    ]
    return shapely.Polygon(ring)


def country_communes() -> gpd.GeoDataFrame:
    """Four communes a province in a row of 0.02° squares; the first one spiked."""
    rows = []
    for p, (x0, pname) in PROVINCES.items():
        for k in range(4):
            x = x0 + 0.02 * k
            geom = spike_square(x, 21.68) if (p, k) == ("01", 0) else None
            rows.append(
                {
                    "ward_code": f"{int(p) * 1000 + k + 1:05d}",
                    "official_name": f"{'Phường' if k == 0 else 'Xã'} Thử {p}{k}",
                    "ward_type": "Phường" if k == 0 else "Xã",
                    "ward_name": f"Thử {p}{k}",
                    "source_id": f"{int(p) * 1000 + k + 1:05d}",
                    "province_code": p,
                    "province_name": pname,
                    "geometry": geom or shapely.box(x, 21.68, x + 0.02, 21.7),
                }
            )
    frame = gpd.GeoDataFrame(rows, crs=4326)
    # Uncoded, unnamed: the crosswalk lists its source_id with its name in 48.
    frame.loc[7, ["ward_code", "official_name"]] = [None, None]
    return frame


def census_rows() -> pd.DataFrame:
    """Old communes: coded through the crosswalk, the renamed province by name."""
    rows = []
    for p, (_, pname) in PROVINCES.items():
        for k in range(4):
            old = f"{int(p) * 1000 + 500 + k:05d}"
            renamed = p == "46"
            rows.append(
                {
                    "province_name": "Tỉnh Thừa Thiên Huế" if renamed else pname,
                    "district_name": f"Huyện Thử {p}",
                    "commune_name": f"{'Phường' if k == 0 else 'Xã'} Thử {p}{k}",
                    "hh_total": 300 + 100 * k + int(p),
                    "ward_code_2024": None if renamed else old,
                    "district_code_2024": None if renamed else f"{int(p) * 10:03d}",
                    "province_code_2024": None if renamed else p,
                }
            )
    rows.append(  # no code, no commune of that name: not placed, listed
        {
            "province_name": "Đà Nẵng",
            "district_name": "Quận Đã Giải Thể",
            "commune_name": "Phường Không Còn",
            "hh_total": 77,
            "ward_code_2024": None,
            "district_code_2024": None,
            "province_code_2024": "48",
        }
    )
    return pd.DataFrame(rows)


def crosswalk_rows() -> pd.DataFrame:
    rows = []
    for p in ("01", "48"):
        for k in range(4):
            new = f"{int(p) * 1000 + k + 1:05d}"
            rows.append(
                {
                    "old_ward_code": f"{int(p) * 1000 + 500 + k:05d}",
                    "new_province_code": p,
                    "new_ward_code": new,
                    "new_ward_name": f"{'Phường' if k == 0 else 'Xã'} Thử {p}{k}",
                    "split": False,
                    "is_default": True,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def country(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("country")
    country_communes().to_parquet(folder / "communes.parquet")
    census_rows().to_parquet(folder / "census.parquet")
    crosswalk_rows().to_parquet(folder / "crosswalk.parquet")
    out = folder / "region"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--country",
            "--boundaries",
            str(folder / "communes.parquet"),
            "--households-table",
            str(folder / "census.parquet"),
            "--crosswalk",
            str(folder / "crosswalk.parquet"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_the_spiked_commune_breaks_only_once_projected() -> None:
    spike = spike_square(105.48, 21.68)
    assert spike.is_valid
    frame = country_communes()
    assert frame.estimate_utm_crs().to_epsg() == UTM_49N
    tr = pyproj.Transformer.from_crs(4326, UTM_49N, always_xy=True)
    projected = shapely.transform(spike, lambda c: np.column_stack(tr.transform(*c.T)))
    assert not projected.is_valid


def test_every_census_household_is_placed_or_listed(country: tuple[Path, str]) -> None:
    out, output = country
    census = census_rows()
    report = json.loads((out / "carry_report.json").read_text(encoding="utf-8"))
    total = int(census["hh_total"].sum())
    assert report["census_households"] == total
    assert report["not_placed_households"] == 77
    assert report["carried_households"] == total - 77
    assert report["outside_households"] == 0
    assert report["repairs"] == {
        "communes_coded_from_crosswalk": ["48004"],
        "communes_made_valid": 0,
        "communes_made_valid_projected": 1,
        "rows_province_from_renamed_name": 4,
    }
    listed = pd.read_csv(out / "households_not_placed.csv", dtype=str)
    assert listed["name"].tolist() == ["Phường Không Còn"]
    assert f"{total - 77:,} of {total:,} census households" in output
    assert "Traceback" not in output


def test_households_lie_in_their_communes(country: tuple[Path, str]) -> None:
    """Brute force: each point's commune by covers; sums equal the census rows."""
    out, _ = country
    manifest = tomllib.loads((out / "region.toml").read_text(encoding="utf-8"))
    assert manifest["region"]["synthetic"] is True
    assert "synthetic" in manifest["region"]["source"]
    communes = gpd.read_parquet(out / "communes.parquet")
    table = pl.read_parquet(out / "households.parquet")
    got: dict[str, int] = {}
    for lon, lat, w in zip(
        table["lon"], table["lat"], table["households"], strict=True
    ):
        point = shapely.Point(lon, lat)
        inside = [
            c
            for c, g in zip(communes["ward_code"], communes.geometry, strict=True)
            if g.covers(point)
        ]
        assert len(inside) == 1
        got[inside[0]] = got.get(inside[0], 0) + int(w)
    expected: dict[str, int] = {}
    for row in census_rows().itertuples():
        if row.commune_name == "Phường Không Còn":
            continue
        coded = isinstance(row.province_code_2024, str)
        p = row.province_code_2024 if coded else "46"
        k = int(row.commune_name[-1])
        expected[f"{int(p) * 1000 + k + 1:05d}"] = int(row.hh_total)
    assert got == expected


def test_the_region_runs(country: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = country
    result = CliRunner().invoke(app, ["run", str(out), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    report = json.loads((out / "carry_report.json").read_text(encoding="utf-8"))
    assert summary["synthetic"] is True
    assert summary["households"] == report["carried_households"]
    assert summary["unassigned_households"] == 0
    assert summary["communes_with_households"] == 12


def test_country_needs_its_inputs(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--country", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2
    assert "--boundaries" in result.output
    assert "Traceback" not in result.output


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "none.parquet"
    args = ["demo", "--country", "--out", str(tmp_path / "x")]
    args += ["--boundaries", str(missing), "--households-table", str(missing)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "input file not found" in result.output
    assert len(result.output.strip().splitlines()) == 1
