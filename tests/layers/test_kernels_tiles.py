"""``Tiles.tiles_of`` (a table of the households' box of tiles) is a binary search's answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geodx.manifest_specs import LayerSpec
from layers.measured import Tiles

RNG = np.random.default_rng(16)
SPEC = LayerSpec(id="m", kind="measured", path=Path("t.parquet"))


def _tiles(keys: np.ndarray) -> Tiles:
    keys = np.unique(keys)
    n = len(keys)
    return Tiles(SPEC, keys, RNG.uniform(0, 40, n), RNG.integers(0, 6, n) * 1.0)


def _searched(tiles: Tiles, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    at = np.minimum(np.searchsorted(tiles.keys, keys), max(len(tiles.keys) - 1, 0))
    found = tiles.keys[at] == keys if len(tiles.keys) else np.zeros(len(keys), bool)
    return found, np.where(found, at, 0)


def _key(col: np.ndarray, row: np.ndarray) -> np.ndarray:
    return (col.astype(np.int64) << 16) | row.astype(np.int64)


@pytest.mark.parametrize("spread", [1, 30, 400, 5000])
def test_the_answers_of_a_binary_search(spread: int) -> None:
    # Tiles in and around the households' box, some columns and rows bare, the
    # box's own corners among households and tiles; spread 5000 takes the search.
    col = RNG.integers(52_000, 52_000 + spread, 20_000)
    row = RNG.integers(30_000, 30_000 + spread, 20_000)
    keys = _key(col, row)
    around = _key(
        RNG.integers(52_000 - 3, 52_000 + spread + 3, 30_000),
        RNG.integers(30_000 - 3, 30_000 + spread + 3, 30_000),
    )
    corners = _key(
        np.array([52_000, 52_000 + spread - 1] * 2),
        np.repeat([30_000, 30_000 + spread - 1], 2),
    )
    holes = ((around >> 16) + around) % 3 == 0  # every third diagonal bare
    tiles = _tiles(np.r_[around[::2][~holes[::2]], corners[:3]])
    keys = np.r_[keys, corners, around[1::2][:5000]]
    found, at = tiles.tiles_of(keys)
    want_found, want_at = _searched(tiles, keys)
    np.testing.assert_array_equal(found, want_found)
    np.testing.assert_array_equal(at, want_at)
    assert found.any() and not found.all()


@pytest.mark.parametrize(
    ("tile_keys", "keys"),
    [
        ([], [5, 6]),
        ([7 << 16 | 3], []),
        ([7 << 16 | 3], [7 << 16 | 3, 7 << 16 | 4, 6 << 16 | 3, 8 << 16 | 3]),
        ([0, 65_535, 65_535 << 16 | 65_535], [0, 1, 65_535 << 16 | 65_535]),
    ],
)
def test_edge_cases(tile_keys: list[int], keys: list[int]) -> None:
    tiles = _tiles(np.array(tile_keys, dtype=np.int64))
    k = np.array(keys, dtype=np.int64)
    found, at = tiles.tiles_of(k)
    want_found, want_at = _searched(tiles, k)
    np.testing.assert_array_equal(found, want_found)
    np.testing.assert_array_equal(at, want_at)
