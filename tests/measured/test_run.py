"""``geodx run`` with a measured layer on a small generated region equals the brute force."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from tests.cli_inprocess import geodx_in_process

from .naive import CENTRE, edge_points, naive_classes, random_tiles, write_tiles

WEST = (CENTRE[0] - 0.05, CENTRE[1] - 0.05, CENTRE[0], CENTRE[1] + 0.05)
EAST = (CENTRE[0], CENTRE[1] - 0.05, CENTRE[0] + 0.05, CENTRE[1] + 0.05)
# The 4G layer covers the north half.
NORTH = (WEST[0], CENTRE[1], EAST[2], WEST[3])
MBPS, TESTS = 12.0, 2

MANIFEST = """
[region]
name = "Measured"
h3_resolution = 8
[communes]
path = "communes.geojson"
[households]
path = "households.csv"
weight = "households"
[[layers]]
id = "vt-4g"
kind = "mobile"
technology = "4G"
path = "north.geojson"
"""
MEASURED = f"""
[[layers]]
id = "ookla"
kind = "measured"
path = "tiles.parquet"
min_download_mbps = {MBPS}
min_tests = {TESTS}
"""


def _clear(v: np.ndarray, line: float) -> np.ndarray:
    return np.abs(v - line) > 1e-4


def build_region(folder: Path, *, measured: bool = True) -> dict[str, Any]:
    rng = np.random.default_rng(21)
    gpd.GeoDataFrame(
        {
            "commune_code": ["001", "002"],
            "commune_name": ["West", "East"],
            "district_code": ["01", "01"],
            "district_name": ["Dist", "Dist"],
        },
        geometry=[shapely.box(*WEST), shapely.box(*EAST)],
        crs=4326,
    ).to_file(folder / "communes.geojson", driver="GeoJSON")
    gpd.GeoDataFrame(geometry=[shapely.box(*NORTH)], crs=4326).to_file(
        folder / "north.geojson", driver="GeoJSON"
    )
    elng, elat = edge_points(rng, 400)  # on tile corners and edges
    lng = np.concatenate([elng, rng.uniform(WEST[0], EAST[2], 2000)])
    lat = np.concatenate([elat, rng.uniform(WEST[1], WEST[3], 2000)])
    keep = (
        _clear(lng, CENTRE[0])
        & _clear(lat, CENTRE[1])
        & (lng > WEST[0] + 1e-4)
        & (lng < EAST[2] - 1e-4)
        & (lat > WEST[1] + 1e-4)
        & (lat < WEST[3] - 1e-4)
    )
    lng, lat = lng[keep], lat[keep]
    weight = rng.integers(1, 4, len(lng))
    pd.DataFrame({"lon": lng, "lat": lat, "households": weight}).to_csv(
        folder / "households.csv", index=False, float_format="%.17g"
    )
    tiles = random_tiles(rng, lng, lat)
    write_tiles(folder / "tiles.parquet", tiles)
    (folder / "region.toml").write_text(
        MANIFEST + (MEASURED if measured else ""), encoding="utf-8"
    )
    return {"lng": lng, "lat": lat, "weight": weight, "tiles": tiles}


def _run(region: Path, out: Path) -> None:
    # the geodx command in this process: its warnings reach its stderr as in a shell
    done = geodx_in_process("run", str(region), "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "warning:" not in done.stderr


def _features(path: Path) -> dict[str, dict[str, Any]]:
    features = json.loads(path.read_text())["features"]
    return {f["properties"]["commune_code"]: f["properties"] for f in features}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("measured")
    for name, measured in (("with", True), ("without", False)):
        region = base / f"region-{name}"
        region.mkdir()
        data = build_region(region, measured=measured)
        _run(region, base / f"out-{name}")
    return {"data": data, "base": base}


def test_run_counts_equal_the_per_household_rule(runs: dict[str, Any]) -> None:
    d, out = runs["data"], runs["base"] / "out-with"
    lng, lat, weight = d["lng"], d["lat"], d["weight"]
    want = naive_classes(lng, lat, d["tiles"], MBPS, TESTS)
    assert all(want[k].any() for k in want)
    mobile = lat > CENTRE[1]
    covered_below = mobile & want["below"]
    assert covered_below.any()
    names = {
        "measured_ookla_households": want["above"],
        "measured_ookla_below_households": want["below"],
        "measured_ookla_too_few_tests_households": want["too_few_tests"],
        "measured_ookla_untested_households": want["untested"],
        "mobile_covered_measured_below_households": covered_below,
    }
    west = lng < CENTRE[0]
    communes = _features(out / "communes.geojson")
    for code, inside in (("001", west), ("002", ~west)):
        assert communes[code]["mobile_households"] == int(weight[inside & mobile].sum())
        for name, mask in names.items():
            assert communes[code][name] == int(weight[inside & mask].sum()), name
    summary = json.loads((out / "summary.json").read_text())
    (district,) = json.loads((out / "districts.geojson").read_text())["features"]
    cells = pq.read_table(out / "cells.parquet").to_pandas()
    for name, mask in names.items():
        assert summary[name] == int(weight[mask].sum()), name
        assert district["properties"][name] == int(weight[mask].sum()), name
        assert int(cells[name].sum()) == int(weight[mask].sum()), name
    (spec,) = summary["definitions"]["measured_layers"]
    assert spec == {
        "id": "ookla",
        "slug": "ookla",
        "path": "tiles.parquet",
        "min_download_mbps": MBPS,
        "min_tests": TESTS,
    }
    assert [r["role"] for r in summary["inputs"]][-1] == "layer:ookla"


def _strip(props: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in props.items()
        if not k.startswith("measured_") and not k.startswith("mobile_covered_measured")
    }


def test_a_measured_layer_changes_no_other_figure(runs: dict[str, Any]) -> None:
    base = runs["base"]
    for name in ("communes.geojson", "districts.geojson"):
        with_ = json.loads((base / "out-with" / name).read_text())["features"]
        without = json.loads((base / "out-without" / name).read_text())["features"]
        assert [_strip(f["properties"]) for f in with_] == [
            f["properties"] for f in without
        ]
    s1 = json.loads((base / "out-with" / "summary.json").read_text())
    s0 = json.loads((base / "out-without" / "summary.json").read_text())
    skip = {"inputs", "definitions"}
    assert {k: v for k, v in _strip(s1).items() if k not in skip} == {
        k: v for k, v in s0.items() if k not in skip
    }
    assert s1["layers"] == s0["layers"]
