"""A scenario equals a full ``geodx run`` with its layers in the manifest, field for field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from app.cli import app
from app.scenarios import added_layers, commune_diff, write_scenario
from geodx.errors import ManifestError
from geodx.manifest import load_layers_file

from .conftest import Region

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


def _read(folder: Path) -> dict[str, Any]:
    return {
        name: json.loads((folder / name).read_text(encoding="utf-8"))
        for name in ("communes.geojson", "districts.geojson", "summary.json")
    }


def _scenario(region: Region, ids: list[str], out: Path) -> list[dict[str, Any]]:
    baseline = region.baseline
    combined = load_layers_file(baseline.manifest, region.layers_file(ids, out.name))
    out.mkdir()
    return write_scenario(baseline, combined, added_layers(baseline, combined), out)


@pytest.mark.parametrize("case", CASES)
def test_scenario_equals_a_full_run(region: Region, case: str, tmp_path: Path) -> None:
    full = region.full_run(CASES[case])
    out = tmp_path / "scenario"
    props = _scenario(region, CASES[case], out)

    want, got = _read(full), _read(out)
    assert got["communes.geojson"] == want["communes.geojson"]
    assert got["districts.geojson"] == want["districts.geojson"]
    assert props == [f["properties"] for f in want["communes.geojson"]["features"]]
    summary_want, summary_got = want["summary.json"], got["summary.json"]
    assert set(summary_got) == set(summary_want)
    for key in summary_want:
        if key != "inputs":
            assert summary_got[key] == summary_want[key], key
    # inputs: the same roles; the layers' files are the scenario's own
    assert [e["role"] for e in summary_got["inputs"]] == [
        e["role"] for e in summary_want["inputs"]
    ]
    same = {e["role"]: e["sha256"] for e in summary_want["inputs"]}
    for entry in summary_got["inputs"]:
        if entry["role"] != "manifest":
            assert entry["sha256"] == same[entry["role"]], entry["role"]
    assert pq.read_table(out / "cells.parquet").equals(
        pq.read_table(full / "cells.parquet")
    )
    # the new layers change something, and the diff names exactly what changed
    diff = commune_diff(region.baseline.communes_props, props)
    assert diff
    base = {p["commune_code"]: p for p in region.baseline.communes_props}
    new = {p["commune_code"]: p for p in props}
    for entry in diff:
        code = entry["commune_code"]
        for key, change in entry["changed"].items():
            assert change == {
                "baseline": base[code].get(key),
                "scenario": new[code][key],
            }
        assert set(new[code]) - set(entry["changed"]) == {
            k
            for k, v in new[code].items()
            if (base[code][k] == v if k in base[code] else v in (0, None))
        }
    for code, props_of in new.items():  # a commune left out changes nothing
        if code not in {e["commune_code"] for e in diff}:
            assert all(
                base[code][k] == v for k, v in props_of.items() if k in base[code]
            )


def test_crossing_a_target_is_reported(region: Region, tmp_path: Path) -> None:
    """All three layers lift some commune over the (low) fibre or 4G/5G target."""
    props = _scenario(region, CASES["all"], tmp_path / "crossing")
    crossed = {
        (e["commune_code"], flag)
        for e in commune_diff(region.baseline.communes_props, props)
        for flag in e["crosses"]
    }
    expected = {
        (p["commune_code"], flag)
        for p, b in zip(props, region.baseline.communes_props, strict=True)
        for flag in ("fibre_target_met", "mobile_covered")
        if b[flag] is False and p[flag] is True
    }
    assert {flag for _, flag in expected} == {"fibre_target_met", "mobile_covered"}
    assert crossed == expected


def test_scenario_command(region: Region, tmp_path: Path) -> None:
    """``geodx scenario``: who crosses, and the outputs of a full run in ``--out``."""
    layers = region.layers_file(CASES["all"], "cli")
    out = tmp_path / "scenario"
    runner = CliRunner()
    region_dir = str(region.manifest.parent)
    done = runner.invoke(
        app, ["scenario", region_dir, "--add-layer", str(layers), "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert "crosses the fibre target" in done.output
    assert "crosses the 4G/5G target" in done.output
    assert "commune(s) cross the fibre target" in done.output
    assert out.is_symlink()  # written through geodx.outdir, as a run's
    full = region.full_run(CASES["all"])
    assert _read(out)["communes.geojson"] == _read(full)["communes.geojson"]
    bad = tmp_path / "bad.toml"
    (tmp_path / "x.geojson").write_text('{"type":"FeatureCollection","features":[]}')
    bad.write_text(
        '[[layers]]\nid = "vnpt-fibre"\nkind = "fibre"\npath = "x.geojson"\n'
    )
    done = runner.invoke(app, ["scenario", region_dir, "--add-layer", str(bad)])
    assert done.exit_code == 2
    assert "clashes with layer 'vnpt-fibre'" in done.output


def test_layer_files_are_checked_by_the_manifest_rules(
    region: Region, tmp_path: Path
) -> None:
    manifest = region.baseline.manifest
    clash = tmp_path / "clash.toml"
    (tmp_path / "x.geojson").write_text('{"type":"FeatureCollection","features":[]}')
    clash.write_text(
        '[[layers]]\nid = "VNPT fibre"\nkind = "fibre"\npath = "x.geojson"\n'
    )
    with pytest.raises(ManifestError, match="clashes with layer 'vnpt-fibre'"):
        load_layers_file(manifest, clash)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[layers]]\nid = "a"\nkind = "fibre"\npath = "x.geojson"\n'
                   "service_distance_m = -5\n")  # fmt: skip
    with pytest.raises(ManifestError, match="service_distance_m"):
        load_layers_file(manifest, bad)
    other = tmp_path / "other.toml"
    other.write_text('[region]\nname = "x"\n')
    with pytest.raises(ManifestError, match="unknown key 'region'"):
        load_layers_file(manifest, other)
