"""The demo's site list, density raster and counts variant, run through ``geodx run``.

The checks are brute force: households per commune by a ``covers`` test per commune,
RSRP by tests/sites/naive.py (DESIGN.md's formula, one household and one sector at a
time), and the raster's sum against the households' own weights.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import pytest
import rasterio
import shapely

from data import build_synthetic_region
from data.estimates import COUNTS_NAME, DENSITY_NAME, SITES_NAME
from tests.sites.naive import Sector, naive_rsrp

HOUSEHOLDS = 2_000
SEED = 5
THRESHOLD = -105.0


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(region: Path, out: Path) -> dict[str, dict[str, object]]:
    """``geodx run`` in a child process; the communes' properties by code."""
    done = subprocess.run(
        [sys.executable, "-m", "app", "run", str(region), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "warning:" not in done.stderr
    features = json.loads((out / "communes.geojson").read_text())["features"]
    return {f["properties"]["commune_code"]: f["properties"] for f in features}


@pytest.fixture(scope="module")
def points(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("points")
    return build_synthetic_region(folder, seed=SEED, households=HOUSEHOLDS).parent


@pytest.fixture(scope="module")
def counts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("counts")
    build_synthetic_region(folder, seed=SEED, households=HOUSEHOLDS, counts=True)
    return folder


def brute_counts(points: Path) -> dict[str, int]:
    """Households per commune: every commune's ``covers`` (boundary in), smallest code."""
    communes = gpd.read_file(points / "communes.gpkg").sort_values("ma_xa")
    table = pl.read_parquet(points / "households.parquet")
    pts = shapely.points(table["lon"].to_numpy(), table["lat"].to_numpy())
    weight = table["households"].to_numpy()
    taken = np.zeros(len(pts), dtype=bool)
    out: dict[str, int] = {}
    for code, geom in zip(communes["ma_xa"], communes.geometry, strict=True):
        inside = shapely.covers(geom, pts) & ~taken
        taken |= inside
        if inside.any():
            out[str(code)] = int(weight[inside].sum())
    return out


def test_sector_list_has_three_sectors_per_site(points: Path) -> None:
    table = pl.read_csv(points / SITES_NAME)
    assert table.columns == [
        "site",
        "lon",
        "lat",
        "height_m",
        "frequency_mhz",
        "rs_eirp_dbm",
        "azimuth_deg",
        "beamwidth_deg",
    ]
    sites = table.group_by("site").agg(
        pl.len(),
        pl.col("lon").n_unique().alias("lons"),
        pl.col("azimuth_deg").sort().diff().drop_nulls().alias("steps"),
    )
    assert (sites["len"] == 3).all() and (sites["lons"] == 1).all()
    steps = np.concatenate(sites["steps"].to_list())
    assert np.allclose(steps, 120.0, atol=0.11)
    assert table["height_m"].is_between(30, 200).all()  # COST-231 Hata's range
    assert table["frequency_mhz"].is_between(1500, 2000).all()
    communes = gpd.read_file(points / "communes.gpkg")
    xmin, ymin, xmax, ymax = communes.total_bounds
    assert table["lon"].is_between(xmin - 0.1, xmax + 0.1).all()
    assert table["lat"].is_between(ymin - 0.1, ymax + 0.1).all()


def test_density_is_the_households_own(points: Path) -> None:
    weight = pl.read_parquet(points / "households.parquet")["households"].sum()
    with rasterio.open(points / DENSITY_NAME) as src:
        assert src.crs.to_epsg() == 4326 and src.dtypes == ("float32",)
        assert src.tags()["synthetic"] == "true"
        values = src.read(1)
    assert float(values.sum(dtype=np.float64)) == pytest.approx(weight)


def test_counts_variant_counts_the_same_households(points: Path, counts: Path) -> None:
    table = pl.read_csv(counts / COUNTS_NAME, schema_overrides={"ma_xa": pl.String})
    got = dict(zip(table["ma_xa"], table["households"], strict=True))
    assert got == brute_counts(points)
    manifest = tomllib.loads((counts / "region.toml").read_text(encoding="utf-8"))
    assert manifest["households"] == {
        "counts": COUNTS_NAME,
        "code": "ma_xa",
        "households": "households",
        "spread": DENSITY_NAME,
        "vintage": "2025-04-01",
    }
    assert manifest["region"]["synthetic"] is True
    assert not (counts / "households.parquet").exists()


def test_same_seed_same_bytes(counts: Path, points: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build_synthetic_region(again, seed=SEED, households=HOUSEHOLDS, counts=True)
    for name in (COUNTS_NAME, DENSITY_NAME, SITES_NAME, "region.toml"):
        assert sha(again / name) == sha(counts / name), name
    assert sha(again / SITES_NAME) == sha(points / SITES_NAME)
    assert sha(again / DENSITY_NAME) == sha(points / DENSITY_NAME)


def test_counts_variant_runs_and_every_commune_holds_its_count(
    counts: Path, tmp_path: Path
) -> None:
    got = run(counts / "region.toml", tmp_path / "out")
    table = pl.read_csv(counts / COUNTS_NAME, schema_overrides={"ma_xa": pl.String})
    for code, count in zip(table["ma_xa"], table["households"], strict=True):
        assert got[code]["households"] == pytest.approx(count, abs=1e-6)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["households_estimated"] is True
    assert summary["households"] == pytest.approx(table["households"].sum())


def test_site_layer_equals_the_brute_force_on_a_sample(
    points: Path, tmp_path: Path
) -> None:
    got = run(points / "region.toml", tmp_path / "out")
    frame = pl.read_csv(points / SITES_NAME)
    sectors = [
        Sector(r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in frame.iter_rows()
    ]
    communes = gpd.read_file(points / "communes.gpkg").sort_values("ma_xa")
    table = pl.read_parquet(points / "households.parquet")
    lon, lat = table["lon"].to_numpy(), table["lat"].to_numpy()
    weight = table["households"].to_numpy()
    pts = shapely.points(lon, lat)
    taken = np.zeros(len(pts), dtype=bool)
    checked = covered_somewhere = 0
    for code, geom in zip(communes["ma_xa"], communes.geometry, strict=True):
        inside = shapely.covers(geom, pts) & ~taken
        taken |= inside
        if checked >= 250 or not inside.any() or code[-1] not in "0369":
            continue  # a sample of the communes
        rsrp = naive_rsrp(lon[inside], lat[inside], sectors, "suburban")
        assert not np.any(np.abs(rsrp - THRESHOLD) <= 1e-6)
        want = int(weight[inside][rsrp >= THRESHOLD].sum())
        assert got[code]["layer_vietnamobile_4g_sites_households"] == want, code
        checked += int(inside.sum())
        covered_somewhere += want
    assert checked >= 100 and covered_somewhere > 0
