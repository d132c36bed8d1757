"""Points tested in rounds (until one polygon covers them) get the per-point answers.

``covered_by_polygons`` and ``within_distance`` test a point of a partly covered grid
cell against the cell's polygons one round at a time, leaving out the points already
found covered. The answers must be those of GEOS on every (point, polygon) pair,
written here as plainly as possible: overlapping buffers, holes, multi-parts, points
on edges and vertices, crowded cells that are refined, in a UTM CRS's large
coordinates and in degrees.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geodx import overlay
from geodx.overlay import build_grid, covered_by_polygons
from geodx.reach import within_distance


def plain_cover(x: np.ndarray, y: np.ndarray, polys: np.ndarray) -> np.ndarray:
    """Whether some polygon covers each point: every pair tested."""
    out = np.zeros(len(x), dtype=bool)
    for poly in polys:
        out |= shapely.intersects_xy(poly, x, y)
    return out


def plain_within(
    x: np.ndarray, y: np.ndarray, feats: np.ndarray, d: float
) -> np.ndarray:
    points = shapely.points(x, y)
    out = np.zeros(len(x), dtype=bool)
    for feat in feats:
        out |= shapely.dwithin(points, feat, d)
    return out


def crowded_world(
    seed: int, x0: float, y0: float, unit: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points (a dense town and a sparse spread), lines, and their overlapping buffers.

    ``unit``: one "metre" in the CRS (1 in UTM, about 1 / 111,000 in degrees).
    """
    rng = np.random.default_rng(seed)
    town = rng.normal(0, 300, (3000, 2))
    spread = rng.uniform(-2500, 2500, (1500, 2))
    xy = np.r_[town, spread]
    starts = rng.uniform(-2000, 2000, (40, 2))
    ends = starts + rng.normal(0, 900, (40, 2))
    lines = shapely.linestrings(
        np.stack([starts, (starts + ends) / 2 + rng.normal(0, 150, (40, 2)), ends], 1)
    )
    polys = shapely.buffer(lines, 240.0, quad_segs=4)
    holed = shapely.Polygon(
        [(-600, -600), (600, -600), (600, 600), (-600, 600)],
        [[(-200, -200), (200, -200), (200, 200), (-200, 200)]],
    )
    polys = np.r_[polys, [holed, shapely.MultiPolygon([shapely.box(0, 0, 50, 50),
                                                       shapely.box(900, 900, 1200, 1000)])]]  # fmt: skip
    # Points exactly on the holed square's outer and inner edges and corners, and on
    # the first buffer's vertices.
    edge = np.array([[-600, 0], [600, 600], [200, 0], [-200, -200], [0, 200]])
    vertices = shapely.get_coordinates(polys[0])[:20]
    xy = np.r_[xy, edge, vertices]
    scale = lambda g: shapely.transform(g, lambda c: c * unit + [x0, y0])  # noqa: E731
    polys = np.asarray(scale(polys), dtype=object)
    lines = np.asarray(scale(lines), dtype=object)
    return xy[:, 0] * unit + x0, xy[:, 1] * unit + y0, polys, lines


CRSS = [(500_000.0, 1_400_000.0, 1.0, 500.0), (108.0, 12.7, 1 / 111_000, 0.005)]


@pytest.mark.parametrize(("x0", "y0", "unit", "cell"), CRSS)
@pytest.mark.parametrize("seed", range(2))
def test_rounds_give_every_pairs_answer(
    seed: int, x0: float, y0: float, unit: float, cell: float
) -> None:
    x, y, polys, _ = crowded_world(seed, x0, y0, unit)
    want = plain_cover(x, y, polys)
    assert 500 < want.sum() < len(x) - 500
    got = covered_by_polygons(x, y, polys.copy(), grid=build_grid(x, y, cell_size=cell))
    assert np.array_equal(got, want)


def test_rounds_test_fewer_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A point inside several buffers is tested less than once per buffer.

    In this world each tested point meets about four buffers (9,011 pairs for 2,139
    points when every pair is tested); the rounds test about two a point.
    """
    x, y, polys, _ = crowded_world(3, 0.0, 0.0, 1.0)
    tests: list[np.ndarray] = []
    real = shapely.intersects_xy

    def counting(g: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        tests.append(np.c_[px, py])
        return np.asarray(real(g, px, py))

    monkeypatch.setattr(overlay.shapely, "intersects_xy", counting)
    covered_by_polygons(x, y, polys.copy(), grid=build_grid(x, y, cell_size=500.0))
    tested = np.concatenate(tests)
    assert len(tested) < 3 * len(np.unique(tested, axis=0))


@pytest.mark.parametrize(("x0", "y0", "unit", "cell"), CRSS[:1])
def test_networks_in_rounds_equal_dwithin(
    x0: float, y0: float, unit: float, cell: float
) -> None:
    x, y, _, lines = crowded_world(5, x0, y0, unit)
    want = plain_within(x, y, lines, 250.0)
    assert 500 < want.sum() < len(x) - 500
    got = within_distance(x, y, lines, distance=250.0, cell_size=cell)
    assert np.array_equal(got, want)
