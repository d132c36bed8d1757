"""``geodx scenario REGION --add-layer FILE --out DIR``: the diff, and a run's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.pipeline import run_region

from .region import build_region, write_layers

# See test_equal_run: the full run's map drawing may warn from rasterio.
pytestmark = pytest.mark.filterwarnings(
    "ignore::rasterio.errors.NotGeoreferencedWarning"
)


def test_scenario_command_prints_who_crosses_and_writes_a_run(tmp_path: Path) -> None:
    region = tmp_path / "region"
    region.mkdir()
    manifest = build_region(region)
    text, layers = write_layers(region, ["new-route", "new-area <x>", "new-5g"], "all")
    full = region / "full.toml"
    full.write_text(manifest.read_text(encoding="utf-8") + text, encoding="utf-8")
    runner = CliRunner()
    out = tmp_path / "scenario"
    done = runner.invoke(
        app, ["scenario", str(region), "--add-layer", str(layers), "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert "crosses the fibre target" in done.output
    assert "commune(s) cross the fibre target" in done.output
    run_region(full, tmp_path / "full")
    got, want = (
        json.loads((tmp_path / d / "communes.geojson").read_text(encoding="utf-8"))
        for d in ("scenario", "full")
    )
    assert got == want
    assert out.is_symlink()  # written through geodx.outdir, as a run's
    bad = region / "bad.toml"
    bad.write_text(
        '[[layers]]\nid = "vnpt-fibre"\nkind = "fibre"\npath = "all-0.geojson"\n'
    )
    done = runner.invoke(app, ["scenario", str(region), "--add-layer", str(bad)])
    assert done.exit_code == 2
    assert "clashes with layer 'vnpt-fibre'" in done.output
