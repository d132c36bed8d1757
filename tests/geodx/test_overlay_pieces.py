"""Networks far from every household are dropped before buffering; answers unchanged.

A partition is handed the network pieces in its (large) box; most lie far from every
household. ``within_distance`` keeps only the pieces within the outer band of an
occupied grid cell, and pieces it is handed are not split again.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geodx import overlay, reach
from geodx.overlay import build_grid
from geodx.reach import network_pieces, within_distance


def brute(x: np.ndarray, y: np.ndarray, feats: np.ndarray, d: float) -> np.ndarray:
    """Each point against every feature: GEOS distance <= d."""
    pts = shapely.points(x, y)
    return np.array([bool((shapely.distance(feats, p) <= d).any()) for p in pts])


def clustered_world(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Households in three towns of a 20 km box; lines and points all over it."""
    rng = np.random.default_rng(seed)
    towns = rng.uniform(0, 20_000, (3, 2))
    pick = rng.integers(0, 3, 900)
    x = towns[pick, 0] + rng.normal(0, 400, 900)
    y = towns[pick, 1] + rng.normal(0, 400, 900)
    starts = rng.uniform(0, 20_000, (60, 1, 2))
    steps = rng.normal(0, 150, (60, 24, 2)).cumsum(axis=1)
    lines = shapely.linestrings(starts + steps)
    points = shapely.points(rng.uniform(0, 20_000, (200, 2)))
    # Some features exactly at the service distance and just beyond it of a household.
    edge = [
        shapely.points(x[0] + 250.0, y[0]),
        shapely.points(x[1], y[1] + 250.0 + 1e-6),
        shapely.LineString([(x[2] - 10, y[2] - 250.0), (x[2] + 10, y[2] - 250.0)]),
    ]
    return x, y, np.r_[lines, points, edge]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_far_pieces_dropped_and_every_answer_the_same(seed: int) -> None:
    x, y, feats = clustered_world(seed)
    d = 250.0
    grid = build_grid(x, y, cell_size=500.0)
    pieces = network_pieces(feats)
    kept = reach._near_cells(pieces, grid, d * reach._OUTER)
    assert 0 < len(kept) < len(pieces) / 2  # most are far from every town
    got = within_distance(x, y, feats, distance=d, cell_size=500.0, grid=grid)
    want = brute(x, y, feats, d)
    assert 50 < want.sum() < len(want) - 50
    assert np.array_equal(got, want)


def test_pieces_are_not_split_again() -> None:
    rng = np.random.default_rng(5)
    lines = shapely.linestrings(rng.uniform(0, 100, (5, 43, 2)))
    mixed = np.r_[lines, shapely.points(rng.uniform(0, 100, (4, 2)))]
    pieces = network_pieces(mixed)
    again = network_pieces(pieces)
    assert again is pieces
    assert len(pieces) > len(mixed)
    # Features that are pieces already come back as they are, whatever their kind.
    assert sorted(shapely.to_wkt(network_pieces(pieces[::-1]))) == sorted(
        shapely.to_wkt(pieces)
    )


def test_crowded_cells_refined_pairs_exact_and_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A town of thousands of points per 500 m cell against 250 m buffers (no cell is
    ever wholly inside): refined twice, every (point, polygon) pair found once, as
    GEOS says point by point; identical points (a tower block) end the refinement."""
    rng = np.random.default_rng(9)
    x = np.r_[rng.normal(2000, 300, 6000), np.full(400, 2100.0)]
    y = np.r_[rng.normal(2000, 300, 6000), np.full(400, 1900.0)]
    lines = shapely.linestrings(rng.uniform(1000, 3000, (12, 4, 2)))
    buffers = shapely.buffer(network_pieces(lines), 250.0, quad_segs=4)
    depths: list[int] = []
    real = overlay._refine

    def spy(*args: object, **kw: object) -> tuple[np.ndarray, np.ndarray]:
        depths.append(int(args[6]))  # type: ignore[call-overload]
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(overlay, "_refine", spy)
    grid = build_grid(x, y, cell_size=500.0)
    p, g = overlay.polygon_pairs(x, y, buffers.copy(), grid=grid)
    assert {0, 1} <= set(depths) and max(depths) < overlay.REFINE_LEVELS
    keys = p * len(buffers) + g
    assert len(np.unique(keys)) == len(keys)
    pts = shapely.points(x, y)
    want = {
        i * len(buffers) + j
        for j, poly in enumerate(buffers)
        for i in np.flatnonzero(shapely.intersects(poly, pts)).tolist()
    }
    assert set(keys.tolist()) == want and len(want) > 1000
    covered = overlay.covered_by_polygons(x, y, buffers.copy(), grid=grid)
    assert covered.tolist() == [bool(i) for i in np.isin(np.arange(len(x)), p)]
