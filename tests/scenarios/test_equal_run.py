"""A scenario equals a full ``geodx run`` with its layers in the manifest, field for field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from app.pipeline import run_region
from app.scenarios import (
    Baseline,
    added_layers,
    commune_diff,
    prepare_baseline,
    write_scenario,
)
from geodx.errors import ManifestError
from geodx.manifest import load_layers_file, load_manifest

from .region import build_region, write_layers

# The full runs draw map layers (layers/mapdraw.py), whose warp of a site prediction in
# a thread now and then warns NotGeoreferencedWarning (rasterio's in-memory dataset);
# not a figure of the outputs compared here.
pytestmark = pytest.mark.filterwarnings(
    "ignore::rasterio.errors.NotGeoreferencedWarning"
)

CASES = {
    "fibre-line": ["new-route"],
    "fibre-polygon": ["new-area <x>"],
    "mobile-polygon": ["new-5g"],
    "all": ["new-route", "new-area <x>", "new-5g"],
}


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Baseline]:
    folder = tmp_path_factory.mktemp("scenario") / "region"
    folder.mkdir()
    path = build_region(folder)
    return path, prepare_baseline(load_manifest(path))


def _read(folder: Path) -> dict[str, Any]:
    return {
        name: json.loads((folder / name).read_text(encoding="utf-8"))
        for name in ("communes.geojson", "districts.geojson", "summary.json")
    }


@pytest.mark.parametrize("case", CASES)
def test_scenario_equals_a_full_run(
    region: tuple[Path, Baseline], case: str, tmp_path: Path
) -> None:
    manifest_path, baseline = region
    folder = manifest_path.parent
    text, layers_toml = write_layers(folder, CASES[case], case)
    full = folder / f"{case}.toml"  # the region's manifest with the layers in it
    full.write_text(manifest_path.read_text(encoding="utf-8") + text, encoding="utf-8")
    run = run_region(full, tmp_path / "full")

    combined = load_layers_file(baseline.manifest, layers_toml)
    out = tmp_path / "scenario"
    out.mkdir()
    props = write_scenario(baseline, combined, added_layers(baseline, combined), out)

    want, got = _read(tmp_path / "full"), _read(out)
    assert got["communes.geojson"] == want["communes.geojson"]
    assert got["districts.geojson"] == want["districts.geojson"]
    assert props == [f["properties"] for f in want["communes.geojson"]["features"]]
    summary_want, summary_got = want["summary.json"], got["summary.json"]
    assert set(summary_got) == set(summary_want) == set(run.summary)
    for key in summary_want:
        if key != "inputs":
            assert summary_got[key] == summary_want[key], key
    # inputs: the same files, but the manifest (the scenario names the region's own)
    strip = [e for e in summary_want["inputs"] if e["role"] != "manifest"]
    assert [e for e in summary_got["inputs"] if e["role"] != "manifest"] == strip
    assert pq.read_table(out / "cells.parquet").equals(
        pq.read_table(tmp_path / "full" / "cells.parquet")
    )
    # the new layers change something, and the diff names exactly what changed
    diff = commune_diff(baseline.communes_props, props)
    assert diff
    base = {p["commune_code"]: p for p in baseline.communes_props}
    for entry in diff:
        old = base[entry["commune_code"]]
        for key, change in entry["changed"].items():
            assert change == {"baseline": old.get(key), "scenario": next(
                p for p in props if p["commune_code"] == entry["commune_code"]
            )[key]}  # fmt: skip
        for flag in entry["crosses"]:
            assert old[flag] is False and change is not None


def test_crossing_a_target_is_reported(region: tuple[Path, Baseline]) -> None:
    """All three layers lift some commune over the (low) fibre or 4G/5G target."""
    manifest_path, baseline = region
    _, layers_toml = write_layers(manifest_path.parent, CASES["all"], "crossing")
    combined = load_layers_file(baseline.manifest, layers_toml)
    out = manifest_path.parent.parent / "crossing-out"
    out.mkdir()
    props = write_scenario(baseline, combined, added_layers(baseline, combined), out)
    crossed = {
        (e["commune_code"], flag)
        for e in commune_diff(baseline.communes_props, props)
        for flag in e["crosses"]
    }
    expected = {
        (p["commune_code"], flag)
        for p, b in zip(props, baseline.communes_props, strict=True)
        for flag in ("fibre_target_met", "mobile_covered")
        if b[flag] is False and p[flag] is True
    }
    assert expected, "no commune crosses a target: the test shows nothing"
    assert crossed == expected


def test_layer_files_are_checked_by_the_manifest_rules(
    region: tuple[Path, Baseline], tmp_path: Path
) -> None:
    _, baseline = region
    clash = tmp_path / "clash.toml"
    (tmp_path / "x.geojson").write_text('{"type":"FeatureCollection","features":[]}')
    clash.write_text(
        '[[layers]]\nid = "VNPT fibre"\nkind = "fibre"\npath = "x.geojson"\n'
    )
    with pytest.raises(ManifestError, match="clashes with layer 'vnpt-fibre'"):
        load_layers_file(baseline.manifest, clash)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[layers]]\nid = "a"\nkind = "fibre"\npath = "x.geojson"\n'
                   "service_distance_m = -5\n")  # fmt: skip
    with pytest.raises(ManifestError, match="service_distance_m"):
        load_layers_file(baseline.manifest, bad)
    other = tmp_path / "other.toml"
    other.write_text('[region]\nname = "x"\n')
    with pytest.raises(ManifestError, match="unknown key 'region'"):
        load_layers_file(baseline.manifest, other)
