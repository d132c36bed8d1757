"""``geodx run`` on a region of three operators equals the per-household brute force."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from .region import COMMUNES, build, expected, manifest

VIEWS = (
    "operator_vnpt_fibre_households",
    "operator_viettel_fibre_households",
    "operator_vnpt_mobile_households",
    "operator_viettel_mobile_households",
    "operator_mobifone_mobile_households",
    "mobile_operators_0_households",
    "mobile_operators_1_households",
    "mobile_operators_2_households",
    "mobile_operators_3plus_households",
    "mobile_all_operators_households",
    "mobile_households",
    "mobile_households_minus3db",
    "mobile_households_plus3db",
    "mobile_indoor_households",
    "layer_viettel_4g_indoor_households",
)


def _target(world: Any) -> float:
    """A commune target that commune 001 only meets at +3 dB (so it is sensitive)."""
    e = expected(world, {"001"}, 95.0)
    hh, mobile, plus = (
        e[k] for k in ("households", "mobile_households", "mobile_households_plus3db")
    )
    assert plus > mobile, "the generated region has no margin in commune 001"
    return round(100 * (mobile + plus) / 2 / hh, 2)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, float]:
    folder = tmp_path_factory.mktemp("operators")
    region = folder / "region"
    region.mkdir()
    world, _ = build(region)
    target = _target(world)
    manifest(region, f"[targets]\nmobile_commune_household_pct = {target}\n")
    out = folder / "out"
    done = subprocess.run(
        [sys.executable, "-m", "app", "run", str(region), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "warning:" not in done.stderr
    return out, world, target


def _features(path: Path, key: str) -> dict[str, dict[str, Any]]:
    features = json.loads(path.read_text())["features"]
    return {f["properties"][key]: f["properties"] for f in features}


def test_communes_equal_the_brute_force(run: tuple[Path, Any, float]) -> None:
    out, world, target = run
    got = _features(out / "communes.geojson", "commune_code")
    flips = []
    for code, _, _ in COMMUNES:
        want = expected(world, {code}, target)
        props = got[code]
        assert props["households"] == want["households"] > 0
        for name in VIEWS:
            assert props[name] == want[name], (code, name)
        assert props["mobile_covered_sensitive"] is want["mobile_covered_sensitive"]
        flips.append(want["mobile_covered_sensitive"])
        hh = props["households"]
        assert props["operator_vnpt_fibre_pct"] == round(
            100 * want["operator_vnpt_fibre_households"] / hh, 4
        )
        assert props["mobile_indoor_pct"] == round(
            100 * want["mobile_indoor_households"] / hh, 4
        )
        # Operators without a layer of the kind: null, not zero.
        assert props["operator_mobifone_fibre_households"] is None
        assert props["operator_mobifone_fibre_pct"] is None
        # Only layers with indoor_loss_db get an indoor column.
        assert "layer_vnpt_4g_indoor_households" not in props
    assert flips[0] is True


def test_districts_and_summary_equal_the_brute_force(
    run: tuple[Path, Any, float],
) -> None:
    out, world, target = run
    got = _features(out / "districts.geojson", "district_code")
    for district in ("D1", "D2"):
        codes = {c for c, d, _ in COMMUNES if d == district}
        want = expected(world, codes, target)
        for name in VIEWS:
            assert got[district][name] == want[name], (district, name)
        sensitive = sum(
            expected(world, {c}, target)["mobile_covered_sensitive"] for c in codes
        )
        assert got[district]["communes_mobile_covered_sensitive"] == sensitive
    summary = json.loads((out / "summary.json").read_text())
    want = expected(world, None, target)
    for name in VIEWS:
        assert summary[name] == want[name], name
    assert summary["mobile_households"] == want["mobile_households"]
    flips = [
        expected(world, {c}, target)["mobile_covered_sensitive"] for c, _, _ in COMMUNES
    ]
    assert summary["communes_mobile_covered_sensitive"] == sum(flips) >= 1
    for key in ("mobile_households_minus3db", "mobile_covered_sensitive"):
        assert key in summary["definitions"] or key in str(summary["definitions"])
    (site,) = [la for la in summary["layers"] if la["id"] == "viettel-4g"]
    assert site["indoor_households"] == want["layer_viettel_4g_indoor_households"]
    slugs = {o["slug"]: o["layers"] for o in summary["operators"]}
    assert slugs["vnpt"] == {"fibre": ["vnpt-fibre"], "mobile": ["vnpt-4g"]}
    assert set(slugs) == {"vnpt", "viettel", "mobifone"}


def test_cells_carry_the_household_views(run: tuple[Path, Any, float]) -> None:
    out, world, target = run
    cells = pq.read_table(out / "cells.parquet").to_pandas()
    want = expected(world, None, target)
    for name in VIEWS:
        if name.startswith("mobile_households_"):
            assert name not in cells.columns  # margins are commune figures
        else:
            assert int(cells[name].sum()) == want[name], name


def test_the_api_serves_the_views(run: tuple[Path, Any, float]) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings

    out, world, target = run
    with TestClient(create_app(Settings(results_dir=out))) as client:
        r = client.get("/communes/001")
        assert r.status_code == 200, r.text
        body = r.json()
        item = client.get("/collections/communes/items/001")
        assert item.status_code == 200
        props = item.json()["properties"]
    want = expected(world, {"001"}, target)
    views = body["mobile_views"]
    assert (
        views["operators_3plus_households"] == want["mobile_operators_3plus_households"]
    )
    assert views["households_minus3db"] == want["mobile_households_minus3db"]
    assert views["households_plus3db"] == want["mobile_households_plus3db"]
    assert views["indoor_households"] == want["mobile_indoor_households"]
    assert views["covered_sensitive"] is True
    operators = {o["slug"]: o for o in body["operators"]}
    assert (
        operators["vnpt"]["mobile_households"]
        == want["operator_vnpt_mobile_households"]
    )
    assert operators["mobifone"]["fibre_households"] is None
    indoor = {
        la["id"]: la["indoor_households"]
        for las in body["by_operator"].values()
        for la in las
    }
    assert indoor["viettel-4g"] == want["layer_viettel_4g_indoor_households"]
    assert indoor["vnpt-4g"] is None
    assert props["mobile_households_plus3db"] == want["mobile_households_plus3db"]
