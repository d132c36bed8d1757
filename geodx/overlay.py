"""Exact point-in-polygon tests, sped up by a grid index.

Every answer is the one a per-point GEOS predicate gives (``intersects_xy``, boundary
included). The grid only decides which points need that test: a grid cell whose box a
polygon covers answers for all its points at once; a cell whose box touches nothing
answers "no". Networks (``dwithin``) are tested in :mod:`geodx.reach`, on this grid. The grid is square, in the coordinates of the geometries
themselves, so "box covered" is an exact statement about every point inside it
(an H3 cell's edges are geodesic arcs and would not be).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from numpy.typing import NDArray

from geodx.kernels_sort import stable_argsort

# A cell of more points than this that a polygon covers only in part is split into a
# grid of a quarter the cell size, at most REFINE_LEVELS times (500 m -> 125 m -> 31 m).
CROWDED = 256
REFINE_LEVELS = 2
# Polygons of this many vertices on average meet the grid's boxes through their prepared
# selves (see _meeting).
PREPARED_FROM = 64
# Boxes are grown by this share of the cell size so that float rounding in the
# point -> cell computation can never place a point outside its own box.
_BOX_EPS = 1e-7


@dataclass(frozen=True)
class GridIndex:
    """Points grouped by square grid cell.

    Attributes
    ----------
    order : ndarray of int64
        Point indices sorted by cell.
    starts : ndarray of int64
        ``order[starts[c]:starts[c + 1]]`` are the points of cell ``c``.
    bounds : ndarray of float64, shape (cells, 4)
        ``xmin, ymin, xmax, ymax`` of each occupied cell's (slightly grown) box.
    cell_size : float
        Side of a cell.
    """

    order: NDArray[np.int64]
    starts: NDArray[np.int64]
    bounds: NDArray[np.float64]
    cell_size: float

    @property
    def n_cells(self) -> int:
        """Number of occupied cells."""
        return len(self.bounds)

    @cached_property
    def boxes(self) -> NDArray[np.object_]:
        """One box polygon per occupied cell, made on first use.

        Making geometry objects holds the GIL; the searches that only need the
        boxes' coordinates read :attr:`bounds`.
        """
        b = self.bounds
        return np.asarray(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]), dtype=object)

    def restrict(self, keep: NDArray[np.bool_]) -> GridIndex:
        """The same grid holding only the points where ``keep`` is true.

        Point indices still refer to the full arrays; cells left empty are dropped.
        No sorting is needed: the kept points stay in cell order.
        """
        kept = keep[self.order]
        cell = np.repeat(np.arange(self.n_cells), np.diff(self.starts))[kept]
        counts = np.bincount(cell, minlength=self.n_cells)
        occupied = counts > 0
        return GridIndex(
            order=self.order[kept],
            starts=np.r_[0, np.cumsum(counts[occupied])].astype(np.int64),
            bounds=self.bounds[occupied],
            cell_size=self.cell_size,
        )

    def points_of(self, cells: NDArray[np.int64]) -> tuple[NDArray[np.int64], ...]:
        """Return ``(points, owner)``: the points of ``cells`` and their index in ``cells``."""
        counts = self.starts[cells + 1] - self.starts[cells]
        owner = np.repeat(np.arange(len(cells)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(
            np.cumsum(counts) - counts, counts
        )
        return self.order[np.repeat(self.starts[cells], counts) + offsets], owner


def build_grid(
    x: NDArray[np.float64], y: NDArray[np.float64], *, cell_size: float
) -> GridIndex:
    """Group points by a square grid of ``cell_size`` in their own coordinates.

    Parameters
    ----------
    x, y : ndarray of float64
        Point coordinates, finite.
    cell_size : float
        Side of a grid cell, in the units of ``x`` and ``y``.

    Returns
    -------
    GridIndex
    """
    if cell_size <= 0 or not np.isfinite(cell_size):
        raise ValueError(f"cell_size was {cell_size}; expected a positive number")
    n = len(x)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return GridIndex(
            empty, np.zeros(1, dtype=np.int64), np.zeros((0, 4)), cell_size
        )
    x0, y0 = float(x.min()), float(y.min())
    ix = ((x - x0) / cell_size).astype(np.int64)
    iy = ((y - y0) / cell_size).astype(np.int64)
    key = ix * (int(iy.max()) + 1) + iy
    order = stable_argsort(key)
    sorted_key = key[order]
    first = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    starts = np.r_[first, n].astype(np.int64)
    cx = ix[order[first]]
    cy = iy[order[first]]
    grow = cell_size * _BOX_EPS
    xmin = x0 + cx * cell_size - grow
    ymin = y0 + cy * cell_size - grow
    side = cell_size + 2 * grow
    bounds = np.column_stack([xmin, ymin, xmin + side, ymin + side])
    return GridIndex(order=order, starts=starts, bounds=bounds, cell_size=cell_size)


def polygon_pairs(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    polygons: NDArray[np.object_],
    *,
    grid: GridIndex,
    any_only: bool = False,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return every (point, polygon) pair where the polygon covers the point.

    Parameters
    ----------
    x, y : ndarray of float64
        Point coordinates, in the polygons' CRS.
    polygons : ndarray of shapely geometries
        Polygons or multipolygons; they are prepared in place.
    grid : GridIndex
        :func:`build_grid` of the same points.
    any_only : bool
        Only whether some polygon covers each point matters: once a cell is wholly
        covered, its other pairs are skipped (pairs are then not complete).

    Returns
    -------
    points, polygons : ndarray of int64
        Pairs, each once, in no particular order. A point on a polygon's boundary is
        covered.
    """
    return _pairs(x, y, polygons, grid, any_only, 0)


def _pairs(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    polygons: NDArray[np.object_],
    grid: GridIndex,
    any_only: bool,
    depth: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """:func:`polygon_pairs` on a grid refined ``depth`` times already."""
    shapely.prepare(polygons)
    tree = shapely.STRtree(polygons)
    cell, geom = _meeting(tree, polygons, grid.boxes)
    whole = shapely.covers(polygons[geom], grid.boxes[cell])
    partial = ~whole
    if any_only:
        done = np.zeros(grid.n_cells, dtype=bool)
        done[cell[whole]] = True
        partial &= ~done[cell]
        # One covering polygon answers for a cell's points: the others would list
        # them again, once per overlapping polygon.
        whole &= _first_of_cell(cell, whole, grid.n_cells)
    out_p: list[NDArray[np.int64]] = []
    out_g: list[NDArray[np.int64]] = []
    if depth < REFINE_LEVELS:
        crowded = _crowded(grid, cell, partial)
        if crowded.any():  # their pairs are found on a finer grid
            meeting = geom[crowded[cell]]
            sub_p, sub_g = _refine(
                x, y, polygons, grid, crowded, meeting, depth, any_only=any_only
            )
            out_p.append(sub_p)
            out_g.append(sub_g)
            whole &= ~crowded[cell]
            partial &= ~crowded[cell]
    sure_p, sure_owner = grid.points_of(cell[whole])
    out_p.append(sure_p)
    out_g.append(geom[whole][sure_owner])
    if any_only:
        test_p, test_g = _first_hits(x, y, polygons, grid, cell[partial], geom[partial])
        out_p.append(test_p)
        out_g.append(test_g)
        return np.concatenate(out_p), np.concatenate(out_g)
    test_p, test_owner = grid.points_of(cell[partial])
    test_g = geom[partial][test_owner]
    hit = shapely.intersects_xy(polygons[test_g], x[test_p], y[test_p])
    out_p.append(test_p[hit])
    out_g.append(test_g[hit])
    return np.concatenate(out_p), np.concatenate(out_g)


def _first_of_cell(
    cell: NDArray[np.int64], chosen: NDArray[np.bool_], n_cells: int
) -> NDArray[np.bool_]:
    """Marks the first chosen pair of each cell (pairs in order)."""
    at = np.flatnonzero(chosen)
    first = np.full(n_cells, len(cell), dtype=np.int64)
    np.minimum.at(first, cell[at], at)
    keep = np.zeros(len(cell), dtype=bool)
    keep[first[first < len(cell)]] = True
    return keep


def _meeting(
    tree: shapely.STRtree, polygons: NDArray[np.object_], boxes: NDArray[np.object_]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The (box, polygon) pairs that intersect, as ``tree.query(boxes, "intersects")``.

    Polygons of :data:`PREPARED_FROM` vertices or more on average (a country's
    communes: 136) are tested by their prepared selves, after an envelope query: the
    same pairs in the same order, 3x faster there; small ones (buffers of network
    pieces) are faster through the query's own test, whose envelope pairs are fewer.
    """
    if (
        len(polygons) == 0
        or shapely.get_num_coordinates(polygons).mean() < PREPARED_FROM
    ):
        cell, geom = tree.query(boxes, predicate="intersects")
        return cell, geom
    cell, geom = tree.query(boxes)
    meets = shapely.intersects(polygons[geom], boxes[cell])
    return cell[meets], geom[meets]


def _first_hits(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    polygons: NDArray[np.object_],
    grid: GridIndex,
    cell: NDArray[np.int64],
    geom: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Covering pairs of the (cell, polygon) pairs' points, a point tested until one is.

    Round ``r`` tests the points of each cell against the cell's ``r``-th polygon,
    leaving out the points an earlier round found covered: a point near several
    overlapping buffers is tested about once, not once per buffer. Every point some
    polygon covers has a pair in the answer (so ``any_only`` answers are exact); the
    pairs are not complete.
    """
    order = np.argsort(cell, kind="stable")
    cell, geom = cell[order], geom[order]
    first = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    rank = np.arange(len(cell)) - np.repeat(first, np.diff(np.r_[first, len(cell)]))
    done = np.zeros(len(x), dtype=bool)
    out_p: list[NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)]
    out_g: list[NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)]
    for r in range(int(rank.max(initial=-1)) + 1):
        round_cells = np.flatnonzero(rank == r)
        points, owner = grid.points_of(cell[round_cells])
        fresh = ~done[points]
        points, polygon = points[fresh], geom[round_cells][owner[fresh]]
        hit = shapely.intersects_xy(polygons[polygon], x[points], y[points])
        done[points[hit]] = True
        out_p.append(points[hit])
        out_g.append(polygon[hit])
    return np.concatenate(out_p), np.concatenate(out_g)


def _crowded(
    grid: GridIndex, cell: NDArray[np.int64], partial: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Cells of more than :data:`CROWDED` points that some polygon covers in part."""
    counts = np.diff(grid.starts)
    crowded = np.zeros(grid.n_cells, dtype=bool)
    crowded[cell[partial & (counts[cell] > CROWDED)]] = True
    return crowded


def _refine(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    polygons: NDArray[np.object_],
    grid: GridIndex,
    crowded: NDArray[np.bool_],
    meeting: NDArray[np.int64],
    depth: int,
    *,
    any_only: bool = False,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every pair of the crowded cells' points, on a grid of a quarter the cell size.

    A crowded cell (a city's 500 m cell against 250 m buffers: never wholly inside
    one) goes with every polygon that meets it (``meeting``) to a finer grid of its
    points alone, where most sub-cells are wholly inside or outside. A polygon that
    covers one of its points meets its box, so no pair is lost; each point lies in one
    crowded cell, so none is found twice.
    """
    points, _ = grid.points_of(np.flatnonzero(crowded))
    near = np.unique(meeting)
    finer = build_grid(x[points], y[points], cell_size=grid.cell_size / 4)
    sub_p, sub_g = _pairs(
        x[points], y[points], polygons[near], finer, any_only, depth + 1
    )
    return points[sub_p], near[sub_g]


def covered_by_polygons(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    polygons: NDArray[np.object_],
    *,
    grid: GridIndex,
) -> NDArray[np.bool_]:
    """Return whether any polygon covers each point (boundary included).

    Examples
    --------
    >>> import numpy as np, shapely
    >>> x = np.array([0.5, 1.0, 2.0]); y = np.array([0.5, 0.5, 0.5])
    >>> sq = np.array([shapely.box(0, 0, 1, 1)])
    >>> covered_by_polygons(x, y, sq, grid=build_grid(x, y, cell_size=0.25)).tolist()
    [True, True, False]
    """
    out = np.zeros(len(x), dtype=bool)
    points, _ = polygon_pairs(x, y, polygons, grid=grid, any_only=True)
    out[points] = True
    return out
