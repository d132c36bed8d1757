"""The cell-bounded search gives each point the least ``distance - reach``, bit for bit.

``geodx.nearest.least_gap`` measures a point only against the pieces near enough to
beat the value at its grid cell's nearest piece. Written here plainly: every pair
(point, piece) measured, the least kept. Points near and far (beyond the first look),
on vertices and edges, inside polygons, in empty and crowded cells, with pieces of
several reaches (where the nearest piece is not the best) and empty pieces, in a UTM
CRS's large coordinates.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geodx import nearest
from geodx.nearest import least_gap
from geodx.reach import network_pieces


def plain_least(
    x: np.ndarray, y: np.ndarray, pieces: np.ndarray, reach: np.ndarray
) -> np.ndarray:
    """The least of distance - reach over every piece, one piece at a time."""
    points = shapely.points(x, y)
    out = np.full(len(x), np.inf)
    for piece, r in zip(pieces, reach, strict=True):
        if shapely.is_empty(piece):
            continue
        out = np.minimum(out, shapely.distance(points, piece) - r)
    return out


def network(rng: np.random.Generator, x0: float, y0: float) -> tuple[np.ndarray, ...]:
    """Routes (reach 250), splitters (reach 400) and area edges (reach 0), as pieces."""
    starts = rng.uniform((x0, y0), (x0 + 20_000, y0 + 20_000), (6, 2))
    routes = [
        shapely.LineString(s + np.cumsum(rng.normal(0, 600, (25, 2)), axis=0))
        for s in starts
    ]
    splitters = shapely.points(
        rng.uniform((x0, y0), (x0 + 20_000, y0 + 20_000), (30, 2))
    )
    centres = shapely.points(rng.uniform((x0, y0), (x0 + 20_000, y0 + 20_000), (5, 2)))
    areas = shapely.buffer(centres, rng.uniform(200, 1200, 5))
    holed = shapely.difference(areas[0], shapely.buffer(shapely.centroid(areas[0]), 80))
    edges = shapely.get_parts(shapely.boundary(np.r_[areas[1:], [holed]]))
    parts = [
        network_pieces(np.asarray(routes, dtype=object)),
        np.asarray(splitters, dtype=object),
        network_pieces(np.asarray(edges, dtype=object)),
    ]
    reach = np.concatenate(
        [np.full(len(p), r) for p, r in zip(parts, (250.0, 400.0, 0.0), strict=True)]
    )
    return np.concatenate(parts), reach


def households(
    rng: np.random.Generator, pieces: np.ndarray, x0: float, y0: float
) -> tuple[np.ndarray, np.ndarray]:
    """Scattered, crowded, far away, and exactly on the pieces' vertices and edges."""
    spread = rng.uniform((x0 - 8000, y0 - 8000), (x0 + 28_000, y0 + 28_000), (1500, 2))
    crowd = rng.normal((x0 + 5000, y0 + 5000), 40, (800, 2))
    far = rng.uniform((x0 + 40_000, y0), (x0 + 60_000, y0 + 20_000), (50, 2))
    vertices = shapely.get_coordinates(pieces)[::7]
    lines = pieces[shapely.get_type_id(pieces) == 1][:40]
    on_edges = shapely.get_coordinates(
        shapely.line_interpolate_point(lines, 0.37, normalized=True)
    )
    xy = np.concatenate([spread, crowd, far, vertices, on_edges])
    return xy[:, 0], xy[:, 1]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("cell_size", [150.0, 1000.0, 7000.0])
def test_least_gap_is_the_least_over_every_piece(seed: int, cell_size: float) -> None:
    rng = np.random.default_rng(seed)
    x0, y0 = 790_000.0, 1_390_000.0
    pieces, reach = network(rng, x0, y0)
    x, y = households(rng, pieces, x0, y0)
    got = least_gap(x, y, pieces, reach, cell_size=cell_size)
    want = plain_least(x, y, pieces, reach)
    assert np.array_equal(got, want)  # the same bits
    # The nearest piece of many households is not their best one (reaches differ).
    points = shapely.points(x, y)
    nearest_piece = shapely.STRtree(pieces).query_nearest(points, all_matches=False)[1]
    at_nearest = shapely.distance(points, pieces[nearest_piece]) - reach[nearest_piece]
    assert (at_nearest > want).sum() > 20


def test_far_cells_look_past_the_first_look(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cells with no piece near their centre find one anywhere, the answer unchanged."""
    rng = np.random.default_rng(7)
    pieces, reach = network(rng, 0.0, 0.0)
    x, y = households(rng, pieces, 0.0, 0.0)
    monkeypatch.setattr(nearest, "FIRST_LOOK_M", 50.0)
    got = least_gap(x, y, pieces, reach, cell_size=300.0)
    assert np.array_equal(got, plain_least(x, y, pieces, reach))


def test_empty_pieces_are_no_pieces() -> None:
    line = shapely.LineString([(0, 0), (100, 0)])
    pieces = np.array([shapely.Point(), line, shapely.LineString()], dtype=object)
    reach = np.array([1000.0, 5.0, 1000.0])
    x, y = np.array([50.0, 300.0]), np.array([20.0, 0.0])
    assert least_gap(x, y, pieces, reach).tolist() == [15.0, 195.0]
    only_empty = np.array([shapely.Point()], dtype=object)
    got = least_gap(x, y, only_empty, np.array([0.0]))
    assert np.isinf(got).all()
    assert least_gap(x[:0], y[:0], pieces, reach).shape == (0,)


def test_the_tree_given_is_the_tree_of_the_pieces() -> None:
    rng = np.random.default_rng(11)
    pieces, reach = network(rng, 500_000.0, 2_000_000.0)
    x, y = households(rng, pieces, 500_000.0, 2_000_000.0)
    tree = shapely.STRtree(pieces)
    assert np.array_equal(
        least_gap(x, y, pieces, reach, tree=tree), plain_least(x, y, pieces, reach)
    )
