"""Measured speeds of a demo region: a small synthetic tile file in Ookla's schema.

Listed in the demo's manifest as the ``kind = "measured"`` layer ``TILES_LAYER``
(measured layers change no other figure).

``ookla_tiles.parquet``: zoom-16 tiles over the towns (within 3 km of a town centre),
with Ookla's columns ``quadkey``, ``tile`` (WKT), ``avg_d_kbps``, ``avg_u_kbps``,
``tests`` and ``devices``. Speeds fall with the distance from the centre; a share of
tiles has fewer tests than the layer's ``min_tests``. All synthetic, and labelled so;
the same seed gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from data.world import World
from geodx.tiles import quadkeys, tile_bounds, tile_keys

TILES_NAME = "ookla_tiles.parquet"
TILES_LAYER = {
    "id": "ookla-mobile-synthetic",
    "kind": "measured",
    "path": TILES_NAME,
    "min_download_mbps": 10,
    "min_tests": 3,
}
REACH_M = 3_000.0
STEP_M = 300.0  # about half a zoom-16 tile at the region's latitude


def write_speed_tiles(
    rng: np.random.Generator, world: World, out_dir: Path
) -> dict[str, object]:
    """Write the tile Parquet; return its manifest entry."""
    towns = world.settlements.is_town
    cx, cy = world.settlements.x[towns], world.settlements.y[towns]
    steps = np.arange(-REACH_M, REACH_M + 1, STEP_M)
    gx, gy = np.meshgrid(steps, steps)
    near = np.hypot(gx, gy).ravel() <= REACH_M
    x = (cx[:, None] + gx.ravel()[near]).ravel()
    y = (cy[:, None] + gy.ravel()[near]).ravel()
    lng, lat = world.to_lonlat(x, y)
    keys, first = np.unique(tile_keys(lng, lat), return_index=True)
    distance = np.hypot(x - np.repeat(cx, near.sum()), y - np.repeat(cy, near.sum()))
    fall = 1.0 - distance[first] / REACH_M
    down = np.round(rng.uniform(2_000, 12_000, keys.size) + 30_000 * fall**2)
    tests = rng.poisson(1.0 + 12 * fall)
    b = tile_bounds(keys)
    wkt = [
        f"POLYGON(({w:.7f} {s:.7f}, {e:.7f} {s:.7f}, {e:.7f} {n:.7f}, "
        f"{w:.7f} {n:.7f}, {w:.7f} {s:.7f}))"
        for w, s, e, n in b.tolist()
    ]
    table = pa.table(
        {
            "quadkey": pa.array(quadkeys(keys), pa.string()),
            "tile": pa.array(wkt, pa.string()),
            "avg_d_kbps": pa.array(down.astype(np.int64)),
            "avg_u_kbps": pa.array((down // 3).astype(np.int64)),
            "tests": pa.array(tests.astype(np.int64)),
            "devices": pa.array(np.maximum(1, tests // 2).astype(np.int64)),
        }
    )
    pq.write_table(table, out_dir / TILES_NAME, compression="zstd")
    return dict(TILES_LAYER)
