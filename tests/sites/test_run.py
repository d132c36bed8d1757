"""``geodx run`` with a site layer on a small generated region equals the brute force."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from .naive import CENTRE, Sector, naive_rsrp, random_sectors, write_sectors

THRESHOLD = -112.0
LOSS = 6.0
# Two communes side by side; households stay 1e-4 degree clear of every edge.
WEST = (CENTRE[0] - 0.05, CENTRE[1] - 0.05, CENTRE[0], CENTRE[1] + 0.05)
EAST = (CENTRE[0], CENTRE[1] - 0.05, CENTRE[0] + 0.05, CENTRE[1] + 0.05)


def build_region(
    folder: Path,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Sector]]:
    rng = np.random.default_rng(11)
    gpd.GeoDataFrame(
        {"commune_code": ["001", "002"], "commune_name": ["West", "East"]},
        geometry=[shapely.box(*WEST), shapely.box(*EAST)],
        crs=4326,
    ).to_file(folder / "communes.geojson", driver="GeoJSON")
    lon = rng.uniform(WEST[0] + 1e-4, EAST[2] - 1e-4, 3000)
    lon = lon[np.abs(lon - CENTRE[0]) > 1e-4]
    lat = rng.uniform(WEST[1] + 1e-4, WEST[3] - 1e-4, len(lon))
    weight = rng.integers(1, 4, len(lon))
    pd.DataFrame({"lon": lon, "lat": lat, "households": weight}).to_csv(
        folder / "households.csv", index=False, float_format="%.17g"
    )
    sectors = random_sectors(rng, 60)
    write_sectors(folder / "sites.csv", sectors)
    (folder / "region.toml").write_text(
        f"""
[region]
name = "Sites"
h3_resolution = 8
[communes]
path = "communes.geojson"
[households]
path = "households.csv"
weight = "households"
[[layers]]
id = "vt-sites"
kind = "mobile"
technology = "4G"
operator = "VT"
path = "sites.csv"
model = "cost231-hata"
environment = "suburban"
min_rsrp_dbm = {THRESHOLD}
indoor_loss_db = {LOSS}
""",
        encoding="utf-8",
    )
    return lon, lat, weight, sectors


def test_run_with_a_site_layer_equals_the_brute_force(tmp_path: Path) -> None:
    region = tmp_path / "region"
    region.mkdir()
    lon, lat, weight, sectors = build_region(region)
    rsrp = naive_rsrp(lon, lat, sectors, "suburban")
    assert not np.any(np.abs(rsrp - THRESHOLD) <= 1e-6)  # no household on the edge
    covered = rsrp >= THRESHOLD
    assert 0.05 < covered.mean() < 0.95
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "app", "run", str(region), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "warning:" not in done.stderr  # min_rsrp_dbm is used, not ignored
    west = lon < CENTRE[0]
    communes = json.loads((out / "communes.geojson").read_text())["features"]
    got = {f["properties"]["commune_code"]: f["properties"] for f in communes}
    for code, inside in (("001", west), ("002", ~west)):
        assert got[code]["households"] == int(weight[inside].sum())
        assert got[code]["mobile_households"] == int(weight[inside & covered].sum())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["households"] == int(weight.sum())
    (layer,) = summary["layers"]
    assert layer["source"] == "sites"
    assert layer["min_rsrp_dbm"] == THRESHOLD  # the definitions used, with the result
    assert layer["model"] == "cost231-hata"
    assert layer["households"] == int(weight[covered].sum())
    cells = pq.read_table(out / "cells.parquet").to_pandas()
    assert int(cells["layer_vt_sites_households"].sum()) == int(weight[covered].sum())
