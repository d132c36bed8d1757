"""Ids and operators with ``<``, ``{{``, ``=`` stay data: file names come from slugs."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from geodx.manifest import load_manifest
from layers.mapdraw import write_map_layers
from layers.mapfeatures import layer_file

from .conftest import UTM, Drawn

HOSTILE = [
    ("<img src=x onerror=alert(1)>{{7*7}}", '=HYPERLINK("http://x")'),
    ("../../summary", "{{config}}’<script>"),
    ("a/b\\c=.json", "@SUM(1)"),
]


def test_hostile_ids_and_operators_stay_data(drawn: Drawn, tmp_path: Path) -> None:
    base = drawn.manifest.root
    text = (base / "region.toml").read_text(encoding="utf-8").split("[[layers]]")[0]
    text = text.replace('path = "', f'path = "{base}/')
    for layer_id, operator in HOSTILE:
        text += (
            f'[[layers]]\nid = {json.dumps(layer_id)}\nkind = "fibre"\n'
            f'operator = {json.dumps(operator)}\npath = "{base}/vnpt_fibre.geojson"\n'
        )
    (tmp_path / "region.toml").write_text(text, encoding="utf-8")
    spec = load_manifest(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    write_map_layers(out, spec, region_bounds=drawn.bounds, metric_crs=UTM)
    names = sorted(p.name for p in (out / "layers").iterdir())
    assert sorted(p.name for p in out.iterdir()) == ["layers"]
    index = orjson.loads((out / "layers" / "index.json").read_bytes())
    files = [entry["file"] for entry in index["layers"]]
    assert names == sorted([*files, "index.json"])
    assert files == ["_img_src_x_onerror_alert_1____7_7__.geojson",
                     "______summary.geojson", "a_b_c__json.geojson"]  # fmt: skip
    for entry, (layer_id, operator) in zip(index["layers"], HOSTILE, strict=True):
        assert (entry["id"], entry["operator"]) == (layer_id, operator)
        data = orjson.loads((out / "layers" / entry["file"]).read_bytes())
        assert {f["properties"]["operator"] for f in data["features"]} == {operator}
        assert {f["properties"]["layer"] for f in data["features"]} == {layer_id}


@pytest.mark.parametrize(
    "name",
    ["../x.geojson", "a/b.png", "x.json", "X.png", ".geojson", "a.sites.tif.png"],
)
def test_a_name_not_made_from_a_slug_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a slug file name"):
        layer_file(tmp_path, name)
