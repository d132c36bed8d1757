"""Each point's least ``distance - reach`` over pieces of network, bounded cell by cell.

The plan's extension (``geodx.plan.extension_m``) of a household is the least
``d - reach`` over every fibre feature. A nearest search per household
(``STRtree.query_nearest``) walks the index far out for a household far from the
network, and a second search was needed where the nearest piece had the shorter reach.
Here the points are grouped by a square grid, and:

- each cell's centre gets its nearest piece ``g_c`` (one nearest search a cell, most of
  them cut off at :data:`FIRST_LOOK_M`);
- each point's value at that piece, ``u = d(p, g_c) - r(g_c)``, bounds its answer from
  above: a piece ``g`` can do better only if ``d(p, g) <= u + r(g) <= u + rmax``;
- the pieces within ``u + rmax`` of the point (``dwithin``) are measured, and the least
  value is kept.

The answer is the same number, bit for bit, as the least over every piece of the same
GEOS distance minus the same reach (``u`` itself is one of those values; the search
radius keeps room for rounding).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from geodx.overlay import build_grid

#: The side of the grid cells the points are grouped by (the pieces' units, metres).
CELL_M = 1000.0
#: A cell centre's nearest piece is first looked for this near (then anywhere).
FIRST_LOOK_M = 2000.0


def least_gap(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    pieces: NDArray[np.object_],
    reach: NDArray[np.float64],
    *,
    tree: shapely.STRtree | None = None,
    points: NDArray[np.object_] | None = None,
    cell_size: float = CELL_M,
) -> NDArray[np.float64]:
    """``min over g of (distance(point, pieces[g]) - reach[g])`` for each point.

    Parameters
    ----------
    x, y : ndarray of float64
        Point coordinates, finite, in the pieces' CRS.
    pieces : ndarray of shapely geometries
        Pieces of network (short lines, points, polygon edges); empty ones are no
        pieces (as in an ``STRtree``).
    reach : ndarray of float64
        Each piece's reach (its layer's service distance; 0 for a polygon's edge).
    tree : shapely.STRtree, optional
        ``STRtree(pieces)``, if already built.
    points : ndarray of shapely Points, optional
        ``shapely.points(x, y)``, if already made.
    cell_size : float
        Side of the grid cells the points are grouped by.

    Returns
    -------
    ndarray of float64
        ``inf`` for every point when there are no pieces.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> pieces = np.array([shapely.LineString([(0, 0), (100, 0)]), shapely.Point(0, 50)])
    >>> least_gap(np.array([50.0, 0.0]), np.array([30.0, 60.0]), pieces,
    ...           np.array([10.0, 0.0])).tolist()
    [20.0, 10.0]
    """
    tree = tree if tree is not None else shapely.STRtree(pieces)
    if len(x) == 0 or len(tree) == 0:
        return np.full(len(x), np.inf)
    best = _cell_nearest(x, y, tree, cell_size)
    points = points if points is not None else shapely.points(x, y)
    out: NDArray[np.float64] = shapely.distance(points, pieces[best]) - reach[best]
    # u + rmax, grown by far more than the rounding of a distance (~1e-16 * scale).
    scale = float(max(np.abs(x).max(), np.abs(y).max(), 1.0))
    radius = out + float(reach.max())
    radius += 1e-9 * (scale + np.abs(radius))
    point, piece = tree.query(points, predicate="dwithin", distance=radius)
    # Each point's own ``best`` piece is among them (its value is ``out`` already).
    other = piece != best[point]
    point, piece = point[other], piece[other]
    gap = shapely.distance(points[point], pieces[piece]) - reach[piece]
    np.minimum.at(out, point, gap)
    return out


def _cell_nearest(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    tree: shapely.STRtree,
    cell_size: float,
) -> NDArray[np.int64]:
    """For each point, the piece nearest to its grid cell's centre."""
    grid = build_grid(x, y, cell_size=cell_size)
    xmin, ymin, xmax, ymax = grid.bounds.T
    centres = shapely.points((xmin + xmax) / 2, (ymin + ymax) / 2)
    best = np.full(grid.n_cells, -1, dtype=np.int64)
    at, piece = tree.query_nearest(
        centres, max_distance=FIRST_LOOK_M, all_matches=False
    )
    best[at] = piece
    missed = np.flatnonzero(best < 0)
    if len(missed):
        at, piece = tree.query_nearest(centres[missed], all_matches=False)
        best[missed[at]] = piece
    per_point = np.empty(len(x), dtype=np.int64)
    per_point[grid.order] = np.repeat(best, np.diff(grid.starts))
    return per_point
