"""The measured rule written again per household, with mercantile, and tile files."""

from __future__ import annotations

from pathlib import Path

import mercantile
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CENTRE = (108.05, 12.68)


def edge_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points exactly on zoom-16 tile corners and edges near the centre, and just off."""
    lng, lat = [], []
    for _ in range(n):
        t = mercantile.tile(
            CENTRE[0] + rng.uniform(-0.04, 0.04),
            CENTRE[1] + rng.uniform(-0.04, 0.04),
            16,
        )
        ul = mercantile.ul(t)
        bounds = mercantile.bounds(t)
        mid_lat = (bounds.south + bounds.north) / 2
        mid_lng = (bounds.west + bounds.east) / 2
        for x, y in (
            (ul.lng, ul.lat),
            (ul.lng, mid_lat),
            (mid_lng, ul.lat),
            (bounds.east, bounds.south),
            (np.nextafter(ul.lng, -180), np.nextafter(ul.lat, 90)),
        ):
            lng.append(float(x))
            lat.append(float(y))
    return np.array(lng), np.array(lat)


def naive_quadkeys(lng: np.ndarray, lat: np.ndarray) -> list[str]:
    return [
        mercantile.quadkey(mercantile.tile(float(x), float(y), 16))
        for x, y in zip(lng, lat, strict=True)
    ]


def naive_classes(
    lng: np.ndarray,
    lat: np.ndarray,
    tiles: dict[str, tuple[float, float]],
    min_mbps: float,
    min_tests: int,
) -> dict[str, np.ndarray]:
    """Per household, one at a time: above, below, too few tests, untested."""
    out = {k: [] for k in ("above", "below", "too_few_tests", "untested")}
    for qk in naive_quadkeys(lng, lat):
        tile = tiles.get(qk)
        untested = tile is None
        enough = not untested and tile[1] >= min_tests
        fast = enough and tile[0] / 1000 >= min_mbps
        out["above"].append(enough and fast)
        out["below"].append(enough and not fast)
        out["too_few_tests"].append(not enough)
        out["untested"].append(untested)
    return {k: np.array(v, dtype=bool) for k, v in out.items()}


def random_tiles(
    rng: np.random.Generator, lng: np.ndarray, lat: np.ndarray, share: float = 0.7
) -> dict[str, tuple[float, float]]:
    """A tile for a share of the points' tiles: kbps around 10 Mbps, tests 0-6."""
    tiles = {}
    for qk in sorted(set(naive_quadkeys(lng, lat))):
        if rng.random() < share:
            kbps = float(int(rng.choice([rng.uniform(0, 30_000), 10_000.0])))
            tiles[qk] = (kbps, float(rng.integers(0, 7)))
    return tiles


def write_tiles(path: Path, tiles: dict[str, tuple[float, float]]) -> None:
    """Ookla's Parquet schema: quadkey, tile (WKT), avg_d_kbps, avg_u_kbps, tests, devices."""
    keys = list(tiles)
    wkt = []
    for qk in keys:
        b = mercantile.bounds(mercantile.quadkey_to_tile(qk))
        wkt.append(
            f"POLYGON(({b.west} {b.south}, {b.east} {b.south}, {b.east} {b.north}, "
            f"{b.west} {b.north}, {b.west} {b.south}))"
        )
    table = pa.table(
        {
            "quadkey": pa.array(keys, pa.string()),
            "tile": pa.array(wkt, pa.string()),
            "avg_d_kbps": pa.array([int(tiles[q][0]) for q in keys], pa.int64()),
            "avg_u_kbps": pa.array([int(tiles[q][0] / 3) for q in keys], pa.int64()),
            "tests": pa.array([int(tiles[q][1]) for q in keys], pa.int64()),
            "devices": pa.array([max(1, int(tiles[q][1]) // 2) for q in keys]),
        }
    )
    pq.write_table(table, path)
