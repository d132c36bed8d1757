"""The numpy distance test is GEOS's to the last bit; the box shortcuts change nothing.

Ties are built where float rounding decides: points at exactly ``d`` from a vertex or
a segment and their neighbours one unit in the last place away, in projected
coordinates of national size (x -4e5..1e6 m, y 1e6..2.6e6 m).
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geodx import reach_boxes, reach_segments
from geodx.overlay import build_grid
from geodx.reach import network_pieces, within_distance
from geodx.reach_segments import geos_dwithin, point_to_segment, segments_of

D = 250.0


def query_pairs(
    px: np.ndarray, py: np.ndarray, pieces: np.ndarray, d: float
) -> set[tuple[int, int]]:
    """The (point, piece) pairs of the STRtree dwithin query."""
    tree = shapely.STRtree(pieces)
    p, g = tree.query(shapely.points(px, py), predicate="dwithin", distance=d)
    return set(zip(p.tolist(), g.tolist(), strict=True))


def ulp_neighbours(v: np.ndarray) -> np.ndarray:
    """Each value and the values one ulp below and above it."""
    return np.concatenate([np.nextafter(v, -np.inf), v, np.nextafter(v, np.inf)])


def tied_world(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` short lines and points far apart, each with points at or near ``D``.

    Pair ``i`` (point ``i`` and piece ``i``) sits alone in its own 2 km square, so the
    query's only candidate pairs are the (i, i) ones.
    """
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    k = np.arange(n)
    ox = -400_000.0 + (k % side) * 2_000.0 + rng.uniform(0, 1, n)
    oy = 1_000_000.0 + (k // side) * 2_000.0 + rng.uniform(0, 1, n)
    kind = rng.integers(0, 5, n)
    # Segment A -> B, some axis-aligned, some short, some degenerate (A == B: points).
    length = np.where(kind == 4, 0.0, rng.choice([0.3, 40.0, 600.0], n))
    angle = np.where(
        kind == 1, 0.0, np.where(kind == 2, np.pi / 2, rng.uniform(0, 7, n))
    )
    ax, ay = ox, oy
    bx = ax + length * np.cos(angle)
    by = ay + length * np.sin(angle)
    # The point: at d from A or B in a random direction, or d off the segment's middle.
    t = rng.uniform(0, 7, n)
    mode = rng.integers(0, 4, n)
    ux, uy = (bx - ax), (by - ay)
    norm = np.hypot(ux, uy)
    nx = np.where(norm > 0, -uy / np.where(norm > 0, norm, 1), 0.0)
    ny = np.where(norm > 0, ux / np.where(norm > 0, norm, 1), 1.0)
    axis = rng.integers(0, 2, n) == 0
    cx = np.where(axis, D, D * np.cos(t))
    cy = np.where(axis, 0.0, D * np.sin(t))
    px = np.select(
        [mode == 0, mode == 1, mode == 2],
        [ax + cx, bx + cy, (ax + bx) / 2 + D * nx],
        ax + rng.uniform(-2 * D, 2 * D, n),
    )
    py = np.select(
        [mode == 0, mode == 1, mode == 2],
        [ay + cy, by + cx, (ay + by) / 2 + D * ny],
        ay + rng.uniform(-2 * D, 2 * D, n),
    )
    lines = shapely.linestrings(np.stack([np.c_[ax, ay], np.c_[bx, by]], axis=1))
    pieces = np.where(kind == 4, shapely.points(ax, ay), lines)
    return px, py, pieces


@pytest.mark.parametrize("seed", [1, 2])
def test_the_numpy_test_is_the_query_on_tied_pairs(seed: int) -> None:
    px, py, pieces = tied_world(seed, 60_000)
    n = len(pieces)
    # Each point and its neighbours one ulp away in x, and in y.
    qx = np.r_[ulp_neighbours(px), np.tile(px, 3)]
    qy = np.r_[np.tile(py, 3), ulp_neighbours(py)]
    owner = np.tile(np.arange(n), 6)
    segs = segments_of(pieces)
    assert segs is not None and np.array_equal(segs.piece, np.arange(n))
    got = geos_dwithin(qx, qy, segs, owner, D)
    want = query_pairs(qx, qy, pieces, D)
    assert all(owner[p] == g for p, g in want)  # the pairs are alone in their squares
    expected = np.zeros(len(qx), dtype=bool)
    expected[[p for p, _ in want]] = True
    assert 0.2 < expected.mean() < 0.9  # ties go both ways
    assert np.array_equal(got, expected)


def test_the_numpy_test_is_the_query_near_the_origin() -> None:
    """Small coordinates: differences are exact to far below an ulp of d there, so
    the envelope test and the branch at r == 0 decide ties that large ones never do."""
    rng = np.random.default_rng(7)
    ax, ay = rng.uniform(-300, 300, (2, 300))
    length = rng.choice([0.0, 0.5, 30.0, 400.0], 300)
    angle = rng.choice([0.0, np.pi / 2, 1.0, 2.5], 300)
    bx = np.where(angle == np.pi / 2, ax, ax + length * np.cos(angle))
    by = np.where(angle == 0.0, ay, ay + length * np.sin(angle))
    lines = shapely.linestrings(np.stack([np.c_[ax, ay], np.c_[bx, by]], axis=1))
    pieces = np.where(length == 0.0, shapely.points(ax, ay), lines)
    # Each point at D from its piece's A (across and along the piece) or middle.
    k = rng.integers(0, 300, 1_500)
    t = rng.choice([0.0, np.pi / 2, np.pi, rng.uniform(0, 7)], 1_500)
    mx, my = (ax[k] + bx[k]) / 2, (ay[k] + by[k]) / 2
    use_mid = rng.integers(0, 2, 1_500) == 0
    px = np.where(use_mid, mx, ax[k]) + D * np.cos(t)
    py = np.where(use_mid, my, ay[k]) + D * np.sin(t)
    qx = np.r_[ulp_neighbours(px), np.tile(px, 3)]
    qy = np.r_[np.tile(py, 3), ulp_neighbours(py)]
    segs = segments_of(pieces)
    assert segs is not None
    point = np.repeat(np.arange(len(qx)), len(pieces))
    seg = np.tile(np.arange(len(pieces)), len(qx))
    got = geos_dwithin(qx[point], qy[point], segs, seg, D)
    tree = shapely.STRtree(pieces)
    p, g = tree.query(shapely.points(qx, qy), predicate="dwithin", distance=D)
    want = np.sort(p * len(pieces) + g)
    assert np.array_equal(np.flatnonzero(got), want)


def tie_boxes(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit boxes whose lower-left corner is D (or 0.8 D) from a segment beyond the box."""
    rng = np.random.default_rng(11)
    px = rng.uniform(-40_000, 40_000, n)
    py = rng.uniform(1_000_000, 2_600_000, n)
    t = rng.uniform(0.4, 1.2, n)
    r = np.where(np.arange(n) % 2 == 0, D, 0.8 * D)
    fx, fy = px + r * np.cos(t), py + r * np.sin(t)
    ends = np.stack(
        [
            np.c_[fx + 50 * np.sin(t), fy - 50 * np.cos(t)],
            np.c_[fx - 50 * np.sin(t), fy + 50 * np.cos(t)],
        ],
        axis=1,
    )
    return (
        np.r_[ulp_neighbours(px)],
        np.tile(py, 3),
        np.tile(shapely.linestrings(ends), 3),
    )


def test_a_covered_box_has_every_corner_within_d() -> None:
    """The margin: a box is covered only when even its tied corner is within D."""
    px, py, lines = tie_boxes(20_000)
    segs = segments_of(lines)
    assert segs is not None
    n = len(px)
    boxes = reach_boxes._Boxes(
        x0=px, y0=py, start=np.arange(n), count=np.ones(n, dtype=np.int64), side=1.0
    )
    cell = np.arange(n)
    slack = reach_segments.margin(px, py, segs, D)
    _, covered = reach_boxes._classify(boxes, segs, cell, cell, D, slack)
    corner = geos_dwithin(px, py, segs, cell, D)
    assert (~corner).sum() > 1_000 and covered.sum() > 1_000
    assert not (covered & ~corner).any()


def test_point_to_segment_is_the_geos_distance() -> None:
    px, py, pieces = tied_world(3, 40_000)
    segs = segments_of(pieces)
    assert segs is not None
    got = point_to_segment(px, py, segs.ax, segs.ay, segs.bx, segs.by)
    want = shapely.distance(shapely.points(px, py), pieces)
    assert np.array_equal(got, want)


def test_lines_of_many_segments_are_tested_segment_by_segment() -> None:
    rng = np.random.default_rng(4)
    start = np.array([[300_000.0, 1_500_000.0]])
    line = shapely.LineString(start + rng.normal(0, 200, (25, 2)).cumsum(axis=0))
    pieces = network_pieces(np.array([line, shapely.MultiPoint(start + 900)]))
    segs = segments_of(pieces)
    assert segs is not None
    # Points exactly d from every vertex, axis-aligned, and their ulp neighbours.
    cx, cy = shapely.get_coordinates(pieces).T
    px = ulp_neighbours(np.r_[cx + D, cx - D, cx, cx])
    py = np.tile(np.r_[cy, cy, cy + D, cy - D], 3)
    hits = np.zeros(len(px), dtype=bool)
    for k in range(len(segs.ax)):
        hits |= geos_dwithin(px, py, segs, np.full(len(px), k), D)
    want = np.zeros(len(px), dtype=bool)
    want[[p for p, _ in query_pairs(px, py, pieces, D)]] = True
    assert np.array_equal(hits, want)


def segments_of_world(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A town and a countryside of households, winding lines and single points."""
    rng = np.random.default_rng(seed)
    x0, y0 = -30_000.0, 2_330_000.0
    town = rng.normal(0, 1_500, (40_000, 2))
    country = rng.uniform(-12_000, 12_000, (20_000, 2))
    xy = np.r_[town, country] + [x0, y0]
    starts = rng.uniform(-10_000, 10_000, (80, 1, 2)) + [x0, y0]
    lines = shapely.linestrings(starts + rng.normal(0, 120, (80, 30, 2)).cumsum(axis=1))
    multi = shapely.multilinestrings([lines[0], lines[1]])
    points = shapely.points(rng.uniform(-10_000, 10_000, (300, 2)) + [x0, y0])
    # Households exactly d from a vertex, on vertices and on a segment's middle.
    v = shapely.get_coordinates(lines[2:6])
    mid = (v[:-1] + v[1:]) / 2
    tied = np.r_[v + [D, 0], v - [0, D], v, mid]
    xy = np.r_[
        xy,
        tied,
        ulp_neighbours(tied[:, 0])[:, None] * [1, 0]
        + [0, 1] * np.tile(tied[:, 1:], (3, 1)),
    ]
    feats = np.r_[lines[2:], [multi], points]
    return xy[:, 0].copy(), xy[:, 1].copy(), feats


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("d", [D, 40.0])
def test_within_distance_is_the_query_of_every_point(seed: int, d: float) -> None:
    x, y, feats = segments_of_world(seed)
    grid = build_grid(x, y, cell_size=500.0)
    got = within_distance(x, y, feats, distance=d, cell_size=500.0, grid=grid)
    want = np.zeros(len(x), dtype=bool)
    want[[p for p, _ in query_pairs(x, y, network_pieces(feats), d)]] = True
    assert 1_000 < want.sum() < len(x) - 1_000
    assert np.array_equal(got, want)


def test_boxes_are_halved_and_decided_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Crowded cells are split, whole boxes decided, and the answer stays the same."""
    x, y, feats = segments_of_world(3)
    grid = build_grid(x, y, cell_size=500.0)
    want = within_distance(x, y, feats, distance=D, cell_size=500.0, grid=grid)
    tested: list[int] = []
    real = reach_boxes._test_points

    def spy(*args: object) -> None:
        tested.append(len(args[5]))  # type: ignore[arg-type]
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(reach_boxes, "_test_points", spy)
    for levels in (0, 2, 4):
        monkeypatch.setattr(reach_boxes, "LEVELS", levels)
        tested.clear()
        got = within_distance(x, y, feats, distance=D, cell_size=500.0, grid=grid)
        assert np.array_equal(got, want)
        assert len(tested) >= 1


@pytest.mark.parametrize("table", [0, 1 << 22])
def test_first_pairs_by_the_lattice_or_the_tree(
    monkeypatch: pytest.MonkeyPatch, table: int
) -> None:
    """Both ways to pair cells with segments give every answer of the query."""
    monkeypatch.setattr(reach_boxes, "_TABLE", table)
    x, y, feats = segments_of_world(4)
    long_line = shapely.LineString([(x.min(), y.min()), (x.max(), y.max())])
    feats = np.r_[feats, [long_line]]
    for cell in (500.0, 130.0):
        grid = build_grid(x, y, cell_size=cell)
        got = within_distance(x, y, feats, distance=D, cell_size=cell, grid=grid)
        want = np.zeros(len(x), dtype=bool)
        want[[p for p, _ in query_pairs(x, y, network_pieces(feats), D)]] = True
        assert np.array_equal(got, want)


def test_two_networks_on_one_grid_share_the_order_and_keep_their_answers() -> None:
    x, y, feats = segments_of_world(5)
    grid = build_grid(x, y, cell_size=500.0)
    lines, points = feats[:40], feats[-300:]
    orders = []
    for network in (lines, points, lines):
        got = within_distance(x, y, network, distance=D, cell_size=500.0, grid=grid)
        want = np.zeros(len(x), dtype=bool)
        want[[p for p, _ in query_pairs(x, y, network_pieces(network), D)]] = True
        assert np.array_equal(got, want)
        orders.append(reach_boxes._LAST["z"][2])
    assert orders[0] is orders[1] is orders[2]
    other = build_grid(x, y, cell_size=500.0)
    within_distance(x, y, lines, distance=D, cell_size=500.0, grid=other)
    assert reach_boxes._LAST["z"][2] is not orders[0]
    del grid, other
    assert "z" not in reach_boxes._LAST


def edge_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, float, float]]:
    """Degrees, d = 0, empty and multi-part features, repeated vertices, odd cells."""
    rng = np.random.default_rng(8)
    lon, lat = rng.uniform(105.7, 105.9, 8_000), rng.uniform(20.9, 21.1, 8_000)
    roads = shapely.linestrings(rng.uniform(0, 0.2, (30, 6, 2)) + [105.7, 20.9])
    bend = shapely.LineString([(0, 0), (100, 0), (100, 100)])
    on = np.linspace(0, 100, 101)
    x0, y0 = np.r_[on, np.full(101, 100.0), 50.0], np.r_[np.zeros(101), on, 1e-12]
    mixed = np.array(
        [
            shapely.LineString(),
            shapely.Point(),
            shapely.MultiPoint([(5, 5), (300, 300)]),
            shapely.MultiLineString([[(0, 0), (1, 1)], [(500, 500), (500, 800)]]),
            shapely.LineString([(0, 0), (0, 0), (100, 0), (100, 0), (100, 50)]),
        ]
    )
    x, y = rng.uniform(-500, 1_500, (2, 5_000))
    return [
        ("degrees", lon, lat, roads, 0.0025, 0.005),
        ("zero distance", x0, y0, np.array([bend]), 0.0, 10.0),
        ("mixed", x, y, mixed, D, 500.0),
        ("small cells", x, y, mixed, D, 20.0),
        ("one cell", x, y, mixed, D, 50_000.0),
    ]


@pytest.mark.parametrize("case", edge_cases(), ids=lambda c: c[0])
def test_edge_cases_answer_as_the_query(
    case: tuple[str, np.ndarray, np.ndarray, np.ndarray, float, float],
) -> None:
    _, x, y, feats, d, cell = case
    got = within_distance(x, y, feats, distance=d, cell_size=cell)
    want = np.zeros(len(x), dtype=bool)
    want[[p for p, _ in query_pairs(x, y, network_pieces(feats), d)]] = True
    assert 0 < want.sum() < len(x)
    assert np.array_equal(got, want)
