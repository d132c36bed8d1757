"""``indoor_loss_db`` on a raster layer: indoor = pixel RSRP - loss >= threshold, brute force.

The operators' region (tests.operators.region) with its VNPT raster given an indoor loss:
the per-household answer is the pixel by its own arithmetic, counted in plain loops.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import orjson
import pytest
import rasterio

from app.pipeline import run_region
from geodx.errors import ManifestError
from geodx.manifest import load_manifest
from tests.operators.region import _pixel_answer, build, manifest

RASTER_LOSS = 5.0


def test_raster_indoor_counts_equal_the_brute_force(tmp_path: Path) -> None:
    region = tmp_path / "region"
    region.mkdir()
    world, _ = build(region, n=300)
    path = manifest(region)
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        'path = "vnpt_4g.tif"\n',
        f'path = "vnpt_4g.tif"\nindoor_loss_db = {RASTER_LOSS}\n',
    )
    path.write_text(text, encoding="utf-8")
    result = run_region(region, tmp_path / "out")
    with rasterio.open(region / "vnpt_4g.tif") as src:
        values = src.read(1)
    want: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i, code in enumerate(world.commune):
        w = int(world.weight[i])
        lon, lat = float(world.lon[i]), float(world.lat[i])
        raster = _pixel_answer(values, lon, lat, -RASTER_LOSS)
        want[code]["layer_vnpt_4g_indoor_households"] += w * raster
        want[code]["layer_viettel_4g_indoor_households"] += w * world.indoor[i]
        want[code]["mobile_indoor_households"] += w * (raster or world.indoor[i])
    communes = orjson.loads((tmp_path / "out" / "communes.geojson").read_bytes())
    for feature in communes["features"]:
        props = feature["properties"]
        for column, count in want[props["commune_code"]].items():
            assert props[column] == count, (props["commune_code"], column)
    total = sum(c["layer_vnpt_4g_indoor_households"] for c in want.values())
    assert 0 < total < sum(int(w) for w in world.weight)
    (layer,) = [x for x in result.summary["layers"] if x["id"] == "vnpt-4g"]
    assert layer["indoor_households"] == total
    assert layer["indoor_loss_db"] == RASTER_LOSS


@pytest.mark.parametrize(
    ("kind", "path"), [("fibre", "vnpt_fibre.geojson"), ("mobile", "misc_4g.geojson")]
)
def test_indoor_loss_on_a_vector_layer_is_refused(
    tmp_path: Path, kind: str, path: str
) -> None:
    (tmp_path / path).write_text('{"type":"FeatureCollection","features":[]}')
    (tmp_path / "c.geojson").write_text('{"type":"FeatureCollection","features":[]}')
    (tmp_path / "region.toml").write_text(
        '[region]\nh3_resolution = 8\n[communes]\npath = "c.geojson"\n'
        '[households]\npath = "c.geojson"\n'
        f'[[layers]]\nid = "x"\nkind = "{kind}"\ntechnology = "4G"\npath = "{path}"\n'
        "indoor_loss_db = 5\n",
        encoding="utf-8",
    )
    with pytest.raises(ManifestError, match="'indoor_loss_db' needs 'model'"):
        load_manifest(tmp_path)
