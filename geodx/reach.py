"""Exact point-within-distance tests of networks (lines and points).

Every answer is the one a per-point GEOS ``dwithin`` gives. Lines are cut into pieces of
at most 10 segments (:func:`network_pieces`); :func:`within_distance` tests points
against the pieces' segments box by box in numpy (:mod:`geodx.reach_boxes`). The
buffer band (:func:`within_by_band`) takes the rest: a point inside a slightly
smaller buffer of the pieces is in, a point outside a slightly larger one is out, and
only the points in the band between are tested with ``dwithin``; its buffers are
tested with the grid index of :mod:`geodx.overlay`.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import NDArray

from geodx.overlay import GridIndex, build_grid, covered_by_polygons
from geodx.reach_boxes import within_pieces
from geodx.reach_segments import segments_of

# The band: points inside buffer(pieces, _INNER * d) are within d, points outside
# buffer(pieces, _OUTER * d) are not, and only the points between are tested with
# dwithin. Both factors follow from how GEOS (3.14, BufferBuilder with round joins and
# caps, ``quad_segs = q``) draws the buffer of radius R of a line:
# - Input simplification (BufferInputLineSimplifier, tolerance R / 100): on each side
#   only concave ("inside") corners are dropped, and only when every dropped vertex
#   lies within R / 100 of the new segment (all vertices are checked when a run spans
#   fewer than 20 vertices, which pieces of at most 11 guarantee). The simplified line
#   lies no farther than R / 100 from the line, towards the side being buffered, so the
#   buffer grows outward by up to R / 100 and never shrinks.
# - Round joins and caps are polylines through points exactly R from a vertex: a join
#   over a turn of theta gets n = round(theta / a) chords (a = pi / (2 q)), each over
#   theta / n. n = 1 for theta just under 1.5 a, one chord over up to 1.5 a, sagging
#   to R * cos(0.75 a): for q = 4 a turn just under 33.75 deg, cos(3 pi / 32) =
#   0.95694 R. Caps (pi in 2q chords) and point circles (4q chords) sag to R cos(a / 2)
#   = 0.981 R. A join is skipped when the offset ends are within R / 1000 (turns under
#   0.06 deg), which moves the boundary by under 1e-6 R. Offset segments, inside-turn
#   intersections and closing segments are at or inside R.
# Hence the buffer of radius R lies between R * cos(0.75 a) and R * 1.01 of the line:
# - inner: _INNER * 1.01 <= 1, i.e. _INNER <= 0.990; 0.97 keeps 2 % of margin.
# - outer: _OUTER * cos(0.75 a) >= 1, i.e. _OUTER >= 1.0450 for q = 4; 1.06 keeps the
#   outer boundary at >= 1.0144 d at the worst turn (1.04 would miss households within
#   d there). tests/geodx/test_overlay.py sweeps turn angles and simplified spikes.
_QUAD_SEGS = 4
_INNER = 0.97
_OUTER = 1.06
_INNER_MAX = 1 / 1.01
_OUTER_MIN = 1 / math.cos(0.75 * math.pi / (2 * _QUAD_SEGS))
_PIECE_VERTICES = 10


def network_pieces(features: NDArray[np.object_]) -> NDArray[np.object_]:
    """Split lines into pieces of at most 10 segments, and multi-parts into parts.

    The pieces have the same segments as the input, so a distance to the pieces is
    the same number as the distance to the whole line; their small bounding boxes keep
    the spatial index sharp. Features that are pieces already (points, and lines of 2
    to 11 vertices: what this function returns) come back as they are.
    """
    if _are_pieces(features):
        return features
    parts = shapely.get_parts(features)
    lines = shapely.get_type_id(parts) == 1
    coords, owner = shapely.get_coordinates(parts[lines], return_index=True)
    if len(coords) == 0:
        return np.asarray(parts[~lines], dtype=object)
    first = np.r_[0, np.flatnonzero(owner[1:] != owner[:-1]) + 1]
    rank = np.arange(len(coords)) - np.repeat(first, np.diff(np.r_[first, len(coords)]))
    # A vertex that ends one piece starts the next: duplicate it.
    piece = owner.astype(np.int64) * 10**9 + rank // _PIECE_VERTICES
    shared = (rank % _PIECE_VERTICES == 0) & (rank > 0)
    coords = np.r_[coords, coords[shared]]
    piece = np.r_[piece, piece[shared] - 1]
    order = np.lexsort((np.r_[rank, rank[shared]], piece))
    _, index = np.unique(piece[order], return_inverse=True)
    counts = np.bincount(index)
    keep = np.repeat(counts >= 2, counts)
    _, index = np.unique(index[keep], return_inverse=True)
    pieces = shapely.linestrings(coords[order][keep], indices=index)
    return np.asarray(np.r_[parts[~lines], shapely.get_parts(pieces)], dtype=object)


def _are_pieces(features: NDArray[np.object_]) -> bool:
    """Whether every feature is a point or a line of 2 to 11 vertices."""
    types = shapely.get_type_id(features)
    if not np.all((types == 0) | (types == 1)):
        return False
    n = shapely.get_num_coordinates(features[types == 1])
    return bool(np.all((n >= 2) & (n <= _PIECE_VERTICES + 1)))


def _near_cells(
    pieces: NDArray[np.object_], grid: GridIndex, reach: float
) -> NDArray[np.object_]:
    """The pieces within ``reach`` of an occupied grid cell's box, in their order.

    Every point lies in its cell's box, so a piece farther than ``reach`` (above the
    service distance) from every box is farther from every point: it covers none and
    its buffers hold none of the points the answer takes from them.
    """
    tree = shapely.STRtree(pieces)
    _, near = tree.query(grid.boxes, predicate="dwithin", distance=reach)
    return np.asarray(pieces[np.unique(near)], dtype=object)


def within_distance(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    features: NDArray[np.object_],
    *,
    distance: float,
    cell_size: float,
    grid: GridIndex | None = None,
) -> NDArray[np.bool_]:
    """Return whether each point lies within ``distance`` of any feature (``dwithin``).

    The features are cut into pieces (:func:`network_pieces`) and tested box by box
    and segment by segment in numpy with GEOS's own arithmetic
    (:func:`geodx.reach_boxes.within_pieces`); pieces of other types and odd
    distances go by the buffer band (:func:`within_by_band`). Either way every answer
    is the one ``STRtree(pieces).query(points, "dwithin", distance)`` gives.

    Parameters
    ----------
    x, y : ndarray of float64
        Point coordinates, in the features' CRS (metres).
    features : ndarray of shapely geometries
        Lines or points of a network (multi-parts allowed).
    distance : float
        Service distance, in the CRS units.
    cell_size : float
        Grid cell size for the polygon tests.
    grid : GridIndex, optional
        :func:`build_grid` of the same points with ``cell_size``, if already built.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import numpy as np, shapely
    >>> line = np.array([shapely.LineString([(0, 0), (100, 0)])])
    >>> x = np.array([50.0, 50.0, 50.0]); y = np.array([9.0, 10.0, 11.0])
    >>> within_distance(x, y, line, distance=10, cell_size=5).tolist()
    [True, True, False]
    """
    out = np.zeros(len(x), dtype=bool)
    pieces = network_pieces(features)
    if len(pieces) == 0 or len(x) == 0:
        return out
    grid = grid if grid is not None else build_grid(x, y, cell_size=cell_size)
    segs = segments_of(pieces) if np.isfinite(distance) and distance >= 0 else None
    if segs is not None:
        return within_pieces(x, y, pieces, segs, distance=distance, grid=grid)
    return within_by_band(x, y, pieces, distance=distance, grid=grid)


def within_by_band(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    pieces: NDArray[np.object_],
    *,
    distance: float,
    grid: GridIndex,
) -> NDArray[np.bool_]:
    """:func:`within_distance` by the buffer band, for any pieces and distance.

    Points inside the inner buffer are in, points outside the outer one are out, and
    the points between are tested with GEOS ``dwithin``. :func:`within_distance` takes
    this way only for what :func:`geodx.reach_segments.segments_of` does not take
    (pieces other than points and lines, non-finite coordinates) or a distance that
    is negative or not finite.
    """
    out = np.zeros(len(x), dtype=bool)
    pieces = _near_cells(pieces, grid, distance * _OUTER)
    if len(pieces) == 0:
        return out
    inner = shapely.buffer(pieces, distance * _INNER, quad_segs=_QUAD_SEGS)
    out |= covered_by_polygons(x, y, inner, grid=grid)
    outer = shapely.buffer(pieces, distance * _OUTER, quad_segs=_QUAD_SEGS)
    maybe = np.flatnonzero(
        covered_by_polygons(x, y, outer, grid=grid.restrict(~out)) & ~out
    )
    tree = shapely.STRtree(pieces)
    hit, _ = tree.query(
        shapely.points(x[maybe], y[maybe]), predicate="dwithin", distance=distance
    )
    out[maybe[hit]] = True
    return out
