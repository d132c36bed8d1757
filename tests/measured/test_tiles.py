"""Point -> zoom-16 tile against mercantile; tile files read and refused in one line."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import mercantile
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from geodx.errors import GeodxError
from geodx.manifest_specs import LayerSpec
from geodx.points import WGS84, HouseholdPoints
from geodx.tiles import quadkey_keys, quadkeys, tile_bounds, tile_keys
from layers.measured import Tiles

from .naive import CENTRE, edge_points, naive_classes, random_tiles, write_tiles


def _points(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    lng, lat = edge_points(rng, 200)
    lng = np.concatenate([lng, rng.uniform(-180, 180, 2000), [-180, 180, 0]])
    lat = np.concatenate([lat, rng.uniform(-85, 85, 2000), [0, 0, -85.0511]])
    return lng, lat


def test_tile_keys_equal_mercantile_on_edges_and_everywhere() -> None:
    lng, lat = _points(np.random.default_rng(3))
    keys = tile_keys(lng, lat)
    for k, x, y in zip(keys.tolist(), lng.tolist(), lat.tolist(), strict=True):
        t = mercantile.tile(x, y, 16)
        assert (k >> 16, k & 0xFFFF) == (t.x, t.y), (x, y)


def test_quadkeys_decode_to_mercantile_tiles() -> None:
    rng = np.random.default_rng(4)
    tiles = [
        mercantile.Tile(int(x), int(y), 16) for x, y in rng.integers(0, 2**16, (500, 2))
    ] + [mercantile.Tile(0, 0, 16), mercantile.Tile(2**16 - 1, 2**16 - 1, 16)]
    text = np.array([mercantile.quadkey(t) for t in tiles])
    keys = quadkey_keys(text, path=Path("t.parquet"))
    assert [(k >> 16, k & 0xFFFF) for k in keys.tolist()] == [(t.x, t.y) for t in tiles]
    assert quadkeys(keys) == text.tolist()
    bounds = tile_bounds(keys)
    want = np.array([list(mercantile.bounds(t)) for t in tiles])
    assert np.allclose(bounds, want, rtol=0, atol=1e-9)


def _spec(path: Path, mbps: float = 10.0, tests: int = 3) -> LayerSpec:
    return LayerSpec("ookla", "measured", path, min_download_mbps=mbps, min_tests=tests)


@pytest.mark.parametrize(("mbps", "tests"), [(10.0, 3), (5.0, 1), (25.0, 6)])
def test_classes_equal_the_per_household_rule(
    tmp_path: Path, mbps: float, tests: int
) -> None:
    rng = np.random.default_rng(5)
    lng, lat = edge_points(rng, 300)
    tiles = random_tiles(rng, lng, lat)
    write_tiles(tmp_path / "t.parquet", tiles)
    hh = HouseholdPoints(lng, lat, np.ones(len(lng)), WGS84)
    got = Tiles.open(_spec(tmp_path / "t.parquet", mbps, tests)).classify(hh)
    want = naive_classes(lng, lat, tiles, mbps, tests)
    for name in want:
        assert np.array_equal(got[name], want[name]), name
    assert all(want[k].any() for k in want)  # every class occurs
    assert np.array_equal(
        got["above"].astype(int) + got["below"] + got["too_few_tests"],
        np.ones(len(lng), dtype=int),
    )


def test_an_ookla_shapefile_reads_the_same(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    lng, lat = edge_points(rng, 50)
    tiles = random_tiles(rng, lng, lat)
    keys = list(tiles)
    shapes = [
        shapely.box(*mercantile.bounds(mercantile.quadkey_to_tile(q))) for q in keys
    ]
    gpd.GeoDataFrame(
        {
            "quadkey": keys,
            "avg_d_kbps": [int(tiles[q][0]) for q in keys],
            "avg_u_kbps": [1] * len(keys),
            "tests": [int(tiles[q][1]) for q in keys],
            "devices": [1] * len(keys),
        },
        geometry=shapes,
        crs=4326,
    ).to_file(tmp_path / "t.shp")
    hh = HouseholdPoints(lng, lat, np.ones(len(lng)), WGS84)
    got = Tiles.open(_spec(tmp_path / "t.shp")).classify(hh)
    want = naive_classes(lng, lat, tiles, 10.0, 3)
    for name in want:
        assert np.array_equal(got[name], want[name]), name


GOOD = "1322132033212101"


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        (
            "quadkey",
            [GOOD, "132213203321210"],
            "column 'quadkey', row 2: '132213203321210' is not a zoom-16 quadkey",
        ),
        (
            "quadkey",
            [GOOD, "1322132033212104"],
            "row 2: '1322132033212104' is not a zoom-16",
        ),
        (
            "quadkey",
            [GOOD, "13221320332121011"],
            "row 2: '13221320332121011' is not a zoom-16",
        ),
        ("quadkey", [GOOD, "13221320332121a1"], "row 2"),
        (
            "quadkey",
            [GOOD, GOOD],
            "column 'quadkey', row 2: '1322132033212101' appears twice",
        ),
        ("quadkey", [GOOD, None], "column 'quadkey', row 2: empty"),
        ("quadkey", [1322132033212101, 1], "column 'quadkey' is int64, not text"),
        ("tests", [3, -1], "column 'tests', row 2: -1.0 is not a finite number >= 0"),
        ("avg_d_kbps", [1.0, float("nan")], "column 'avg_d_kbps', row 2: nan is not"),
        ("avg_d_kbps", [1.0, float("inf")], "column 'avg_d_kbps', row 2: inf is not"),
        ("avg_d_kbps", ["1", "2"], "column 'avg_d_kbps' is string, not numeric"),
        (
            "tests",
            None,
            "tile column 'tests' not found; columns are: quadkey, avg_d_kbps",
        ),
    ],
)
def test_bad_tile_files_are_refused_in_one_line(
    tmp_path: Path, column: str, values: list[object] | None, message: str
) -> None:
    data: dict[str, object] = {
        "quadkey": [GOOD, "1322132033212102"],
        "avg_d_kbps": [20_000, 5_000],
        "tests": [5, 5],
    }
    if values is None:
        del data[column]
    else:
        data[column] = values
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(data), path)
    with pytest.raises(GeodxError) as err:
        Tiles.open(_spec(path))
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert message in text


def test_other_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("quadkey,avg_d_kbps,tests\n")
    with pytest.raises(GeodxError, match="t.csv"):
        Tiles.open(_spec(tmp_path / "t.csv"))
    (tmp_path / "x.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(GeodxError, match="x.parquet"):
        Tiles.open(_spec(tmp_path / "x.parquet"))


def test_centre_is_in_the_region() -> None:
    assert mercantile.tile(*CENTRE, 16).z == 16
