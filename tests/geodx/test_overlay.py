"""The grid-indexed overlay gives exactly the per-point GEOS answers."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geodx import reach
from geodx.overlay import build_grid, covered_by_polygons, polygon_pairs
from geodx.reach import network_pieces, within_distance


def _brute_polygons(x, y, polys):
    pts = shapely.points(x, y)
    return np.array([bool(shapely.intersects(polys, p).any()) for p in pts])


def _brute_distance(x, y, feats, d):
    pts = shapely.points(x, y)
    return np.array([bool((shapely.distance(feats, p) <= d).any()) for p in pts])


def _world(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1000, n)
    y = rng.uniform(0, 1000, n)
    # Put some points exactly on polygon edges and vertices.
    x[:20] = 300.0
    y[20:40] = 200.0
    x[40], y[40] = 300.0, 200.0
    square = shapely.box(300, 200, 700, 600)
    holed = shapely.Polygon(
        [(0, 0), (250, 0), (250, 250), (0, 250)],
        [[(50, 50), (200, 50), (200, 200), (50, 200)]],
    )
    multi = shapely.MultiPolygon(
        [shapely.box(800, 800, 900, 900), shapely.box(920, 0, 990, 80)]
    )
    return rng, x, y, np.array([square, holed, multi], dtype=object)


@given(seed=st.integers(0, 10_000), cell=st.sampled_from([7.0, 50.0, 333.0]))
@settings(max_examples=25, deadline=None)
def test_polygon_cover_equals_brute_force(seed: int, cell: float) -> None:
    _, x, y, polys = _world(seed)
    got = covered_by_polygons(x, y, polys, grid=build_grid(x, y, cell_size=cell))
    assert (got == _brute_polygons(x, y, polys)).all()


def test_points_on_edges_and_vertices_are_covered_and_holes_are_not() -> None:
    x = np.array([300.0, 300.0, 500.0, 100.0, 50.0, 10.0])
    y = np.array([200.0, 400.0, 600.0, 100.0, 100.0, 10.0])
    _, _, _, polys = _world(0)
    got = covered_by_polygons(x, y, polys, grid=build_grid(x, y, cell_size=100))
    assert got.tolist() == [True, True, True, False, True, True]


def test_polygon_pairs_lists_every_covering_polygon() -> None:
    polys = np.array(
        [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], dtype=object
    )
    x = np.array([5.0, 10.0, 15.0, 25.0])
    y = np.full(4, 5.0)
    p, g = polygon_pairs(x, y, polys, grid=build_grid(x, y, cell_size=3))
    assert sorted(zip(p.tolist(), g.tolist(), strict=True)) == [
        (0, 0),
        (1, 0),
        (1, 1),
        (2, 1),
    ]


@given(seed=st.integers(0, 10_000), d=st.sampled_from([5.0, 60.0, 250.0]))
@settings(max_examples=25, deadline=None)
def test_within_distance_equals_brute_force(seed: int, d: float) -> None:
    rng, x, y, _ = _world(seed)
    lines = shapely.linestrings(rng.uniform(0, 1000, (6, 25, 2)))
    pts = shapely.points(rng.uniform(0, 1000, (10, 2)))
    feats = np.r_[
        lines,
        pts,
        [shapely.MultiLineString([[(0, 0), (1000, 1000)], [(0, 1000), (5, 995)]])],
    ]
    got = within_distance(x, y, feats, distance=d, cell_size=d / 2)
    assert (got == _brute_distance(x, y, feats, d)).all()


def test_distance_is_inclusive_at_exactly_the_service_distance() -> None:
    line = np.array([shapely.LineString([(0, 0), (100, 0)])], dtype=object)
    x = np.array([50.0, 50.0, 100.0 + 250.0, 100.0 + 250.0 + 1e-9])
    y = np.array([250.0, 250.0 + 1e-9, 0.0, 0.0])
    got = within_distance(x, y, line, distance=250.0, cell_size=125.0)
    assert got.tolist() == [True, False, True, False]


def test_network_pieces_keep_every_segment() -> None:
    rng = np.random.default_rng(3)
    lines = shapely.linestrings(rng.uniform(0, 100, (4, 37, 2)))
    pieces = network_pieces(lines)
    assert np.isclose(shapely.length(pieces).sum(), shapely.length(lines).sum())
    assert shapely.get_num_coordinates(pieces).max() <= 11
    probe = shapely.points(rng.uniform(0, 100, (50, 2)))
    d_lines = shapely.distance(lines[:, None], probe[None, :]).min(axis=0)
    d_pieces = shapely.distance(pieces[:, None], probe[None, :]).min(axis=0)
    assert (d_lines == d_pieces).all()


def test_dense_cells_are_refined_and_pairs_stay_unique() -> None:
    rng = np.random.default_rng(7)
    # 20,000 points crowded around polygon edges, so many cells are split twice.
    x = np.r_[rng.normal(300, 3, 10_000), rng.uniform(0, 1000, 10_000)]
    y = np.r_[rng.uniform(150, 650, 10_000), rng.normal(600, 2, 10_000)]
    _, _, _, polys = _world(0)
    overlapping = np.r_[
        polys, [shapely.box(290, 590, 310, 610), shapely.box(0, 0, 1000, 600)]
    ]
    p, g = polygon_pairs(x, y, overlapping.copy(), grid=build_grid(x, y, cell_size=250))
    keys = p * 10 + g
    assert len(np.unique(keys)) == len(keys)
    pts = shapely.points(x, y)
    expected = {
        int(i) * 10 + j
        for j, poly in enumerate(overlapping)
        for i in np.flatnonzero(shapely.intersects(poly, pts))
    }
    assert set(keys.tolist()) == expected


# --- The band factors (issue 6 G): derived in geodx/reach.py, tested where they bind.

D = 250.0


def _band(x: np.ndarray, y: np.ndarray, line: object) -> np.ndarray:
    """The buffer band's answer for one line (:func:`geodx.reach.within_by_band`)."""
    pieces = reach.network_pieces(np.array([line]))
    grid = build_grid(x, y, cell_size=D / 4)
    return reach.within_by_band(x, y, pieces, distance=D, grid=grid)


def _turn_case(turn_deg: float, sign: float) -> tuple[np.ndarray, np.ndarray, object]:
    """A line turning left by ``turn_deg`` at (0, 0); points around the outside corner.

    Beyond the corner the nearest point of the line is the vertex, so the exact answer
    is ``radius <= D``: points at ``D * (1 + sign * 1e-7)`` over the whole fillet.
    """
    t = np.radians(turn_deg)
    line = shapely.LineString(
        [(-10 * D, 0.0), (0.0, 0.0), (10 * D * np.cos(t), 10 * D * np.sin(t))]
    )
    # The outside of a left turn is on the right: from -90 deg to turn - 90 deg.
    angle = np.radians(np.linspace(-90.0, turn_deg - 90.0, 61))
    radius = D * (1 + sign * 1e-7)
    return radius * np.cos(angle), radius * np.sin(angle), line


def _sweep_misses(turns: np.ndarray) -> int:
    misses = 0
    for turn in turns:
        for sign in (-1.0, 1.0):
            x, y, line = _turn_case(float(turn), sign)
            got = _band(x, y, line)
            misses += int((got != shapely.dwithin(line, shapely.points(x, y), D)).sum())
    return misses


TURNS = np.r_[np.arange(0.5, 180.0, 0.5), 33.6, 33.7, 33.74]


@pytest.mark.parametrize(
    "turn", np.array_split(TURNS, 8), ids=lambda t: f"{t[0]:g}-{t[-1]:g}deg"
)
def test_points_just_inside_and_outside_d_at_every_turn_angle(turn: np.ndarray) -> None:
    # A chord of the round join sags most at a turn just under 33.75 deg: the outer
    # buffer must still hold every point within D there.
    assert _sweep_misses(turn) == 0


def test_an_outer_factor_below_the_derived_bound_misses_households(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1.04 < 1 / cos(3 pi / 32) = 1.045: at a 33.7 deg turn households within D are
    # outside the outer buffer and answered "not covered".
    assert reach._OUTER_MIN > 1.04
    monkeypatch.setattr(reach, "_OUTER", 1.04)
    assert _sweep_misses(np.array([33.0, 33.5, 33.7])) > 0


def _spike_case(
    angle_deg: float, inner: float
) -> tuple[np.ndarray, np.ndarray, object]:
    """A line with a vertex just off a corner that GEOS simplifies away before buffering.

    The vertex lies 0.99 of the simplification tolerance (1 % of the buffer distance)
    from the previous one; without it the buffer bulges by up to that much.
    """
    r = 0.99 * 0.01 * inner * D
    t = np.radians(angle_deg)
    line = shapely.LineString(
        [
            (-4 * D, 0.0),
            (-2 * D, 0.0),
            (-2 * D + r * np.cos(t), r * np.sin(t)),
            (2 * D, 0.0),
        ]
    )
    gx, gy = np.meshgrid(
        np.linspace(-2.5 * D, -1.5 * D, 401),
        np.r_[
            np.linspace(-1.02 * D, -0.98 * D, 41), np.linspace(0.98 * D, 1.02 * D, 41)
        ],
    )
    return gx.ravel(), gy.ravel(), line


@pytest.mark.parametrize("angle", [-105.0, -60.0, 60.0, 90.0, 105.0, 150.0])
def test_points_inside_the_inner_buffer_are_truly_within_d(angle: float) -> None:
    x, y, line = _spike_case(angle, reach._INNER)
    got = _band(x, y, line)
    assert (got == shapely.dwithin(line, shapely.points(x, y), D)).all()


def test_an_inner_factor_above_the_derived_bound_covers_too_much(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 0.995 > 1 / 1.01: the simplified line's buffer reaches past D.
    assert reach._INNER_MAX < 0.995
    monkeypatch.setattr(reach, "_INNER", 0.995)
    x, y, line = _spike_case(105.0, 0.995)
    got = _band(x, y, line)
    assert (got & ~shapely.dwithin(line, shapely.points(x, y), D)).any()


def test_the_factors_keep_their_derived_margins() -> None:
    assert reach._INNER <= reach._INNER_MAX < 1 < reach._OUTER_MIN <= reach._OUTER
