"""Wholly covered grid cells answer once, however many polygons cover them.

``covered_by_polygons`` (``polygon_pairs(any_only=True)``) keeps one covering pair of
each wholly covered cell: the answers are GEOS's on every (point, polygon) pair, and
no point is listed twice for overlapping polygons that all cover its cell.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geodx.overlay import build_grid, covered_by_polygons, polygon_pairs


def _world(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10_000, 30_000)
    y = rng.uniform(0, 10_000, 30_000)
    centres = rng.uniform(1000, 9000, (60, 2))
    polys = list(shapely.buffer(shapely.points(centres), rng.uniform(800, 2500, 60)))
    # Stacked copies (every cell under them covered many times), a holed square,
    # a multi-part, and points on their edges and vertices.
    polys += [shapely.box(2000, 2000, 6000, 6000)] * 5
    polys.append(
        shapely.Polygon(
            [(0, 0), (5000, 0), (5000, 5000), (0, 5000)],
            [[(1000, 1000), (4000, 1000), (4000, 4000), (1000, 4000)]],
        )
    )
    polys.append(shapely.MultiPolygon([shapely.box(7000, 7000, 9000, 8000),
                                       shapely.box(100, 8000, 600, 9900)]))  # fmt: skip
    edge = np.array(
        [[2000, 3000], [6000, 6000], [1000, 2500], [4000, 4000], [9000, 7500]]
    )
    vertices = shapely.get_coordinates(np.asarray(polys[:3]))
    return (
        np.r_[x, edge[:, 0], vertices[:, 0]],
        np.r_[y, edge[:, 1], vertices[:, 1]],
        np.asarray(polys, dtype=object),
    )


def _plain(x: np.ndarray, y: np.ndarray, polys: np.ndarray) -> np.ndarray:
    out = np.zeros(len(x), dtype=bool)
    for poly in polys:
        out |= shapely.intersects_xy(poly, x, y)
    return out


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("cell", [125.0, 500.0])
def test_cover_is_every_pairs_answer(seed: int, cell: float) -> None:
    x, y, polys = _world(seed)
    want = _plain(x, y, polys)
    grid = build_grid(x, y, cell_size=cell)
    np.testing.assert_array_equal(
        covered_by_polygons(x, y, polys.copy(), grid=grid), want
    )
    points, geoms = polygon_pairs(x, y, polys.copy(), grid=grid, any_only=True)
    assert np.all(shapely.intersects_xy(polys[geoms], x[points], y[points]))
    # Under the five stacked squares every cell is covered five times over; each
    # point comes once from the whole cells.
    assert len(points) == len(np.unique(points))
