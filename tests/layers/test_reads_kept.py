"""A run reads each vector layer file once: answering and drawing share the read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import shapely

from geodx.manifest_specs import LayerSpec
from layers.vector import read_layer_geometries, reads_kept


def _write(path: Path, xs: list[float]) -> LayerSpec:
    features = [
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "Point", "coordinates": [108.0 + x, 12.7]},
        }
        for x in xs
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return LayerSpec(id="splitters", kind="fibre", path=path, service_distance_m=250)


def test_a_file_is_read_once_inside_the_block_and_again_when_changed(
    tmp_path: Path,
) -> None:
    spec = _write(tmp_path / "s.geojson", [0.0, 0.1])
    outside = read_layer_geometries(spec)
    assert read_layer_geometries(spec)[0] is not outside[0]  # no block: read anew
    with reads_kept():
        first = read_layer_geometries(spec)
        again = read_layer_geometries(spec)
        assert again[0] is first[0] and again[1:] == first[1:]
        with reads_kept():  # nested blocks share what is kept
            assert read_layer_geometries(spec)[0] is first[0]
        assert read_layer_geometries(spec)[0] is first[0]
        _write(spec.path, [0.0, 0.1, 0.2])  # the file changes mid-run
        stat = spec.path.stat()
        os.utime(spec.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        changed = read_layer_geometries(spec)
        assert len(changed[0]) == 3
        assert shapely.equals(changed[0][:2], first[0]).all()
    after = read_layer_geometries(spec)
    assert after[0] is not changed[0]  # dropped when the block closed
