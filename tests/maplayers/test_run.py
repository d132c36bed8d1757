"""``geodx run`` draws the map layers into the version it writes, listed by its marker."""

from __future__ import annotations

import json
from pathlib import Path

from app.pipeline import results_are_current, run_region
from geodx.outdir_check import MARKER
from geodx.outdir_snapshot import snapshot
from tests.operators.region import build, manifest


def test_a_run_writes_its_map_layers_into_its_version(tmp_path: Path) -> None:
    region = tmp_path / "region"
    region.mkdir()
    build(region, n=100)
    manifest(region)
    stages: list[str] = []
    result = run_region(region, tmp_path / "out", progress=stages.append)
    assert "draw map layers" in stages and "draw map layers" in result.timings
    version = snapshot(tmp_path / "out").path
    index = json.loads((version / "layers" / "index.json").read_text(encoding="utf-8"))
    assert len(index["layers"]) == 6
    marker = json.loads((version / MARKER).read_text(encoding="utf-8"))
    assert "layers" in marker["files"]
    assert results_are_current(region, tmp_path / "out")
    (version / "layers" / "index.json").unlink()
    assert not results_are_current(region, tmp_path / "out")
