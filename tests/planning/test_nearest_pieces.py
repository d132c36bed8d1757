"""The index's pieces hold every segment of the features: distances to them are the same.

``geodx.nearest_pieces.cut_pieces`` builds the pieces from vertex counts. Written here
plainly: each line sliced vertex by vertex into runs of 10 segments, and the distance
from points (scattered, on vertices, on edges, in holes) to each whole feature against
the least over its pieces, bit for bit, in a UTM CRS's large coordinates.
"""

from __future__ import annotations

import numpy as np
import shapely

from geodx.nearest_pieces import cut_pieces, single_parts

X0, Y0 = 790_000.0, 1_390_000.0


def plain_pieces(features: np.ndarray) -> list[shapely.Geometry]:
    """Non-lines first, then each line sliced into runs of 10 segments."""
    parts = list(shapely.get_parts(features))
    out = [p for p in parts if shapely.get_type_id(p) != 1]
    for part in parts:
        if shapely.get_type_id(part) != 1 or shapely.is_empty(part):
            continue
        coords = shapely.get_coordinates(part)
        for start in range(0, len(coords) - 1, 10):
            out.append(shapely.LineString(coords[start : start + 11]))
    return out


def features(rng: np.random.Generator) -> np.ndarray:
    """Lines of 2 to 40 vertices (11, 12, 21 among them), repeated vertices, rings of
    polygons with holes, multi-parts, points and empties."""
    lines = [
        shapely.LineString(
            (X0, Y0)
            + rng.uniform(0, 20_000, 2)
            + np.cumsum(rng.normal(0, 300, (n, 2)), 0)
        )
        for n in [2, 3, 10, 11, 12, 13, 20, 21, 22, 31, 40]
    ]
    repeated = shapely.LineString([(X0, Y0), (X0, Y0), (X0 + 5, Y0)] * 5)
    holed = shapely.difference(
        shapely.Point(X0 + 3000, Y0 + 3000).buffer(900, quad_segs=12),
        shapely.Point(X0 + 3000, Y0 + 3000).buffer(200, quad_segs=7),
    )
    rings = shapely.get_parts(shapely.boundary(holed))
    multi = shapely.MultiLineString([lines[4], lines[9]])
    return np.array(
        [*lines, repeated, *rings, multi, shapely.Point(X0 + 50, Y0 + 50),
         shapely.MultiPoint([(X0, Y0 + 9), (X0 + 9, Y0)]), shapely.LineString()],
        dtype=object,
    )  # fmt: skip


def test_the_pieces_are_the_plain_slices() -> None:
    given = features(np.random.default_rng(3))
    got = cut_pieces(given)
    want = plain_pieces(given)
    assert len(got) == len(want)
    assert shapely.equals_identical(got, np.array(want, dtype=object)).all()
    assert (shapely.get_num_coordinates(got[shapely.get_type_id(got) == 1]) <= 11).all()


def test_distances_to_the_pieces_are_the_distances_to_the_features() -> None:
    rng = np.random.default_rng(5)
    given = features(rng)
    pieces = cut_pieces(given)
    coords = shapely.get_coordinates(given)
    edges = shapely.line_interpolate_point(
        given[shapely.get_type_id(given) == 1][:-1], 0.61, normalized=True
    )
    xy = np.concatenate(
        [
            rng.uniform((X0 - 2000, Y0 - 2000), (X0 + 22_000, Y0 + 22_000), (400, 2)),
            coords[::3],
            shapely.get_coordinates(edges),
            [(X0 + 3000, Y0 + 3000), (X0 + 3100, Y0 + 3000)],  # in the hole
        ]
    )
    points = shapely.points(xy)
    whole = np.min([shapely.distance(points, g) for g in given[:-1]], axis=0)
    cut = np.min([shapely.distance(points, p) for p in pieces], axis=0)
    assert np.array_equal(whole, cut)  # the same bits


def test_pieces_already_come_back_as_they_are() -> None:
    short = np.array(
        [shapely.Point(1, 2), shapely.LineString([(0, 0), (1, 1), (2, 0)])],
        dtype=object,
    )
    assert cut_pieces(short) is short
    assert len(cut_pieces(np.array([shapely.LineString()], dtype=object))) == 0


def test_single_parts_are_the_parts() -> None:
    """Without multi-parts the features themselves; with them, every part."""
    singles = np.array(
        [shapely.Point(1, 2), None, shapely.LineString(), shapely.box(0, 0, 1, 1)],
        dtype=object,
    )
    mixed = np.r_[singles, [shapely.MultiPoint([(0, 0), (3, 3)])]]
    for given in (singles, mixed, features(np.random.default_rng(1))):
        got = single_parts(given)
        want = shapely.get_parts(given)
        assert len(got) == len(want)
        assert shapely.equals_identical(got, want).all()
