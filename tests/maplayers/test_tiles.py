"""Measured tiles drawn as squares: mercantile's bounds, the measured layer's classes."""

from __future__ import annotations

from pathlib import Path

import mercantile
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from geodx.manifest import load_manifest
from layers.mapdraw import write_map_layers

from .conftest import UTM, Drawn

SPEED, TESTS = 12.0, 4


def _tiles_region(folder: Path, base: Path) -> list[mercantile.Tile]:
    tiles = list(mercantile.tiles(108.00, 12.60, 108.03, 12.62, 16))
    tiles.append(mercantile.tile(109.5, 14.0, 16))  # far outside the region
    rng = np.random.default_rng(8)
    kbps = rng.uniform(1_000, 30_000, len(tiles)).round()
    tests = rng.integers(0, 10, len(tiles))
    pq.write_table(
        pa.table(
            {
                "quadkey": [mercantile.quadkey(t) for t in tiles],
                "avg_d_kbps": kbps.astype(np.int64),
                "tests": tests.astype(np.int64),
            }
        ),
        folder / "tiles.parquet",
    )
    text = (base / "region.toml").read_text(encoding="utf-8").split("[[layers]]")[0]
    text = text.replace('path = "', f'path = "{base}/')
    text += (
        '[[layers]]\nid = "speeds"\nkind = "measured"\npath = "tiles.parquet"\n'
        f"min_download_mbps = {SPEED}\nmin_tests = {TESTS}\n"
    )
    (folder / "region.toml").write_text(text, encoding="utf-8")
    return tiles


def test_tiles_are_drawn_as_their_squares_with_their_class(
    drawn: Drawn, tmp_path: Path
) -> None:
    tiles = _tiles_region(tmp_path, drawn.manifest.root)
    table = pq.read_table(tmp_path / "tiles.parquet").to_pylist()
    spec = load_manifest(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (entry,) = write_map_layers(out, spec, region_bounds=drawn.bounds, metric_crs=UTM)[
        "layers"
    ]
    assert (entry["type"], entry["source"], entry["kind"]) == (
        "vector",
        "tiles",
        "measured",
    )
    assert entry["legend"]["min_download_mbps"] == SPEED
    features = orjson.loads((out / "layers" / entry["file"]).read_bytes())["features"]
    assert len(features) == len(tiles) - 1 == entry["features"]  # not the far one
    by_key = {row["quadkey"]: row for row in table}
    seen = set()
    for feature in features:
        square = shapely.from_geojson(orjson.dumps(feature["geometry"]))
        centre = square.centroid
        tile = mercantile.tile(centre.x, centre.y, 16)
        b = mercantile.bounds(tile)
        assert np.allclose(square.bounds, (b.west, b.south, b.east, b.north), atol=1e-7)
        row = by_key[mercantile.quadkey(tile)]
        seen.add(tile)
        props = feature["properties"]
        mbps = row["avg_d_kbps"] / 1000
        assert props["download_mbps"] == pytest.approx(round(mbps, 2))
        assert props["tests"] == row["tests"]
        if row["tests"] < TESTS:
            assert props["class"] == "too_few_tests"
        else:
            assert props["class"] == ("above" if mbps >= SPEED else "below")
    assert seen == set(tiles[:-1])
