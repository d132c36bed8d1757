"""The demo's synthetic tile file: Ookla's schema, same seed same bytes, read by a run."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
import shapely

from app.pipeline import run_region
from data.speeds import TILES_LAYER, TILES_NAME
from data.synthetic import build_synthetic_region
from data.writer import toml_value

from .naive import naive_classes


def test_demo_tiles_are_ookla_shaped_and_repeatable(tmp_path: Path) -> None:
    a = build_synthetic_region(tmp_path / "a", seed=4, households=2000).parent
    b = build_synthetic_region(tmp_path / "b", seed=4, households=2000).parent
    assert (a / TILES_NAME).read_bytes() == (b / TILES_NAME).read_bytes()
    table = pq.read_table(a / TILES_NAME)
    assert table.schema.names == [
        "quadkey",
        "tile",
        "avg_d_kbps",
        "avg_u_kbps",
        "tests",
        "devices",
    ]
    assert 100 < table.num_rows < 5000
    assert f'path = "{TILES_NAME}"' in (a / "region.toml").read_text(encoding="utf-8")


def test_a_run_with_the_demo_tiles_equals_the_per_household_rule(
    tmp_path: Path,
) -> None:
    region = build_synthetic_region(tmp_path / "r", seed=4, households=3000).parent
    text = (region / "region.toml").read_text(encoding="utf-8")
    entry = "\n".join(f"{k} = {toml_value(v)}" for k, v in TILES_LAYER.items())
    assert f"[[layers]]\n{entry}\n\n" in text  # the demo lists its tiles
    (region / "region.toml").write_text(
        text.replace(f"[[layers]]\n{entry}\n\n", ""), encoding="utf-8"
    )
    plain = run_region(region, tmp_path / "plain").summary
    (region / "region.toml").write_text(text, encoding="utf-8")
    summary = run_region(region, tmp_path / "out").summary
    hh = pq.read_table(region / "households.parquet").to_pandas()
    communes = gpd.read_file(region / "communes.gpkg").to_crs(4326)
    inside = shapely.covers(
        shapely.union_all(communes.geometry.values),
        shapely.points(hh["lon"].to_numpy(), hh["lat"].to_numpy()),
    )
    t = pq.read_table(region / TILES_NAME).to_pylist()
    tiles = {r["quadkey"]: (float(r["avg_d_kbps"]), float(r["tests"])) for r in t}
    want = naive_classes(hh["lon"].to_numpy(), hh["lat"].to_numpy(), tiles, 10, 3)
    weight = hh["households"].to_numpy()
    stem = "measured_ookla_mobile_synthetic"
    for part, key in (
        ("", "above"),
        ("_below", "below"),
        ("_too_few_tests", "too_few_tests"),
        ("_untested", "untested"),
    ):
        got = summary[f"{stem}{part}_households"]
        assert got == int(weight[inside & want[key]].sum()), part
    assert summary[f"{stem}_households"] > 0 and summary[f"{stem}_below_households"] > 0
    below = summary["mobile_covered_measured_below_households"]
    assert 0 < below <= summary[f"{stem}_below_households"]
    keep = {k: v for k, v in summary.items() if "measured" not in k}
    skip = {"inputs", "definitions"}
    assert {k: v for k, v in keep.items() if k not in skip} == {
        k: v for k, v in plain.items() if k not in skip
    }
    assert json.dumps(summary["definitions"]["measured_layers"][0]["min_tests"]) == "3"
