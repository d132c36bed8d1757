"""``geodx run`` on households from counts, end to end, against brute-force sums."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
import pytest
import shapely

from .world import (
    COUNTS,
    UTM,
    X0,
    Y0,
    brute_pixels,
    brute_spread,
    communes_frame,
    write_communes,
    write_counts,
    write_density,
    write_manifest,
)

LAYERS = """
[[layers]]
id = "vnpt-fibre"
kind = "fibre"
operator = "VNPT"
path = "fibre.geojson"

[[layers]]
id = "viettel-5g"
kind = "mobile"
technology = "5G"
operator = "Viettel"
path = "5g.geojson"
"""
# Edges 37 m off the pixel grid: no household point lies on a layer boundary.
FIBRE = shapely.box(X0 - 500, Y0 - 500, X0 + 2_637, Y0 + 1_337)
MOBILE = shapely.box(X0 + 1_163, Y0 + 463, X0 + 9_000, Y0 + 3_537)


def geodx(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args, "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def region(folder: Path, households: str) -> Path:
    folder.mkdir(exist_ok=True)
    write_communes(folder / "communes.gpkg")
    write_counts(folder / "census.csv")
    write_density(folder / "pop.tif")
    for name, shape in (("fibre.geojson", FIBRE), ("5g.geojson", MOBILE)):
        gpd.GeoDataFrame(geometry=[shape], crs=UTM).to_file(folder / name)
    return write_manifest(folder, households, LAYERS)


def run(folder: Path, households: str) -> tuple[dict, dict, dict]:
    manifest = region(folder / "region", households)
    out = folder / "out"
    done = geodx("run", str(manifest), "--out", str(out))
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    communes = json.loads((out / "communes.geojson").read_text(encoding="utf-8"))
    districts = json.loads((out / "districts.geojson").read_text(encoding="utf-8"))
    return summary, communes, districts


@pytest.mark.parametrize("spread", [True, False])
def test_run_counts_equal_brute_force_sums_over_the_spread_points(
    tmp_path: Path, spread: bool
) -> None:
    keys = 'counts = "census.csv"\ncode = "ma"\nhouseholds = "so_ho"\n'
    keys += 'vintage = "2019-04-01"\n'
    if spread:
        keys += 'spread = "pop.tif"\n'
    summary, communes, districts = run(tmp_path, keys)
    pixels = brute_pixels(tmp_path / "region" / "pop.tif") if spread else []
    points = brute_spread(pixels, communes_frame(), COUNTS)
    by_code = {
        f["properties"]["commune_code"]: f["properties"] for f in communes["features"]
    }
    for code, props in by_code.items():
        mine = [(x, y, w) for x, y, w, c in points if c == code]
        fibre = sum(w for x, y, w in mine if FIBRE.covers(shapely.Point(x, y)))
        mobile = sum(w for x, y, w in mine if MOBILE.covers(shapely.Point(x, y)))
        assert props["households"] == pytest.approx(COUNTS.get(code, 0.0)), code
        assert props["fibre_households"] == pytest.approx(fibre, abs=1e-9), code
        assert props["mobile_households"] == pytest.approx(mobile, abs=1e-9), code
        assert props["mobile_5g_households"] == pytest.approx(mobile, abs=1e-9)
    assert by_code["004"]["households"] == 0 and by_code["004"]["fibre_pct"] is None
    assert summary["households"] == pytest.approx(247.5)
    assert summary["households_estimated"] is True
    assert summary["households_not_placed"] == 9.0
    assert summary["households_not_placed_codes"] == ["999"]
    assert summary["households_vintage"] == "2019-04-01"
    assert "census.csv" in summary["households_method"]
    assert ("pop.tif" in summary["households_method"]) is spread
    assert summary["counts_exact"] is False
    roles = {entry["role"] for entry in summary["inputs"]}
    assert ("households:spread" in roles) is spread
    for doc in (communes, districts):
        assert doc["households_estimated"] is True and doc["synthetic"] is False
    meta = pq.read_schema(tmp_path / "out" / "cells.parquet").metadata
    assert meta[b"households_estimated"] == b"true"


def test_a_point_run_says_nothing_about_estimates(tmp_path: Path) -> None:
    """The households of a points run are not estimates: no new members appear."""
    (tmp_path / "region").mkdir()
    gpd.GeoDataFrame(
        {"households": [2, 3]},
        geometry=[
            shapely.Point(X0 + 500, Y0 + 500),
            shapely.Point(X0 + 2500, Y0 + 500),
        ],
        crs=UTM,
    ).to_file(tmp_path / "region" / "hh.gpkg")
    summary, communes, _ = run(tmp_path, 'path = "hh.gpkg"\nweight = "households"\n')
    assert (
        "households_estimated" not in summary and "households_estimated" not in communes
    )
    assert summary["households"] == 5
