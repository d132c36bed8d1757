"""Two kernels that changed how they compute, not what: checked against the plain rule.

- ``geodx.overlay.polygon_pairs`` finds the (cell box, polygon) pairs of detailed
  polygons by envelope and then the prepared polygons' ``intersects`` (of simple ones
  by the query's own test): either way every (point, polygon) pair GEOS's
  ``intersects_xy`` gives, for communes with holes and several parts, points on edges
  and vertices, in a UTM CRS and in degrees.
- ``geodx.partition.sort_unique`` (the rows' sort) is ``np.unique(return_inverse=True)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geodx import overlay
from geodx.overlay import build_grid, polygon_pairs
from geodx.partition import sort_unique


def plain_pairs(
    x: np.ndarray, y: np.ndarray, polys: np.ndarray
) -> set[tuple[int, int]]:
    """Every (point, polygon) pair where the polygon covers the point."""
    out: set[tuple[int, int]] = set()
    for g, poly in enumerate(polys):
        out |= {(int(p), g) for p in np.flatnonzero(shapely.intersects_xy(poly, x, y))}
    return out


def world(
    rng: np.random.Generator, x0: float, y0: float, unit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overlapping blobs, one with a hole, one of two parts; points near their edges."""
    centres = rng.uniform((x0, y0), (x0 + 20 * unit, y0 + 20 * unit), (12, 2))
    blobs = shapely.buffer(shapely.points(centres), rng.uniform(unit, 5 * unit, 12))
    blobs[0] = shapely.difference(
        blobs[0], shapely.buffer(shapely.centroid(blobs[0]), unit / 2)
    )
    blobs[1] = shapely.union(blobs[1], shapely.box(x0, y0, x0 + unit, y0 + unit))
    polys = np.asarray(blobs, dtype=object)
    scattered = rng.uniform(
        (x0 - unit, y0 - unit), (x0 + 22 * unit, y0 + 22 * unit), (3000, 2)
    )
    crowd = rng.normal(centres[2], unit / 3, (600, 2))
    vertices = shapely.get_coordinates(polys)[::5]
    xy = np.concatenate([scattered, crowd, vertices])
    return xy[:, 0], xy[:, 1], polys


@pytest.mark.parametrize("prepared_from", [0, 10**9], ids=["prepared", "query"])
@pytest.mark.parametrize(
    ("x0", "y0", "unit", "cell"),
    [(800_000.0, 1_400_000.0, 300.0, 500.0), (108.0, 12.5, 0.003, 0.005)],
    ids=["utm", "degrees"],
)
def test_polygon_pairs_are_every_covering_pair(
    x0: float,
    y0: float,
    unit: float,
    cell: float,
    prepared_from: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(overlay, "PREPARED_FROM", prepared_from)
    x, y, polys = world(np.random.default_rng(5), x0, y0, unit)
    p, g = polygon_pairs(x, y, polys, grid=build_grid(x, y, cell_size=cell))
    got = list(zip(p.tolist(), g.tolist(), strict=True))
    assert len(got) == len(set(got))  # each pair once
    assert set(got) == plain_pairs(x, y, polys)


@pytest.mark.parametrize("n", [0, 1, 7, 5000])
def test_unique_is_numpy_unique(n: int) -> None:
    rng = np.random.default_rng(n)
    # Nearly sorted, as a partition's cells are, with repeats and some disorder.
    key = np.sort(rng.integers(0, 200, n)).astype(np.uint64)
    swap = rng.integers(0, max(n, 1), n // 10)
    key[swap] = rng.integers(0, 200, len(swap)).astype(np.uint64)
    keys, inverse = sort_unique(key)
    want_keys, want_inverse = np.unique(key, return_inverse=True)
    assert keys.dtype == key.dtype and inverse.dtype == np.int64
    assert np.array_equal(keys, want_keys)
    assert np.array_equal(inverse, want_inverse)
