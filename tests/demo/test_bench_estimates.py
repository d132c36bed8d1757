"""The bench's spread and prediction figures, and the README block that shows them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from data import build_synthetic_region

spread = pytest.importorskip("bench.spread")
sites = pytest.importorskip("bench.sites")
readme = pytest.importorskip("bench.readme")


def test_spread_bench_times_both_ways_on_a_counts_region(tmp_path: Path) -> None:
    manifest = build_synthetic_region(tmp_path, seed=4, households=3_000, counts=True)
    f = spread.measure(3_000, 1, 150, region=manifest)
    assert f.naive_sample == 150 and f.pixels > f.naive_sample
    assert 0 < f.points <= f.pixels
    assert f.households == pytest.approx(3_000 - 3)  # three lie outside the province
    assert f.naive_full_s == pytest.approx(f.naive_s * f.pixels / 150)
    text = "\n".join(spread.lines(f))
    assert "| geodx (`estimate_households`) |" in text and "naive" in text


def test_prediction_figures_go_into_the_readme_block() -> None:
    f = sites.measure(2_000, 30, repeat=1, naive_sample=20, dense_sample=200)
    assert [w[:2] for w in f.ways] == [
        ("geodx", 2_000),
        ("dense numpy", 200),
        ("naive loop", 20),
    ]
    lines = sites.markdown(f)
    block = readme.block(
        title="t",
        date="2026-12-01",
        machine={"cpu": "cpu", "cores": 2},
        load=(0.1, 0.2),
        command="make bench",
        table="| table |",
        targets=[],
        agreements=[],
        estimates=lines,
    )
    assert "Estimated inputs, each beside its naive way (same run):" in block
    assert "2,000 households x 30 sectors" in block
    assert "| naive loop | 20 households |" in block


def test_bench_region_leaves_out_only_the_site_list_and_the_tiles(
    tmp_path: Path,
) -> None:
    region = pytest.importorskip("bench.region")
    manifest = build_synthetic_region(tmp_path, seed=4, households=500)
    text = manifest.read_text(encoding="utf-8")
    no_tiles = region.without_measured_layers(text)
    stripped = tomllib.loads(region.without_model_layers(no_tiles))
    whole = tomllib.loads(text)
    assert [layer["id"] for layer in stripped["layers"]] == [
        layer["id"]
        for layer in whole["layers"]
        if "model" not in layer and layer["kind"] != "measured"
    ]
    assert len(stripped["layers"]) == len(whole["layers"]) - 2 == 9
    assert [t["id"] for t in tomllib.loads(no_tiles)["layers"]] == [
        t["id"] for t in whole["layers"] if t["kind"] != "measured"
    ]
    assert {k: v for k, v in stripped.items() if k != "layers"} == {
        k: v for k, v in whole.items() if k != "layers"
    }
