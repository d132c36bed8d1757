"""Features cut into the short pieces a nearest-feature index holds, without a sort.

A distance from a point to a line is the least of its distances to the line's segments
(GEOS ``DistanceOp``: ``Distance::pointToSegment`` segment by segment, the least kept),
so the least over pieces that hold every segment of the line is the same number, bit
for bit. Each line of ``n`` vertices is cut into ``ceil((n - 1) / 10)`` pieces: piece
``j`` holds vertices ``10 j`` to ``min(10 j + 10, n - 1)`` (the vertex that ends a
piece starts the next). These are the pieces of :func:`geodx.reach.network_pieces`,
in the same order, built from the vertex counts directly; a line of 11 vertices or
fewer is its own only piece and is kept as it is (no new geometry).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

#: Segments a piece holds at most.
PIECE_SEGMENTS = 10


def cut_pieces(features: NDArray[np.object_]) -> NDArray[np.object_]:
    """Multi-parts split into parts, lines cut into pieces of at most 10 segments.

    The parts that are not lines (points, polygons) come first, in their order, then
    every line's pieces, line by line, each line's in its order. Empty lines have no
    piece.

    Examples
    --------
    >>> import shapely
    >>> line = shapely.LineString([(float(i), 0.0) for i in range(25)])
    >>> got = cut_pieces(np.array([line, shapely.Point(5, 5)], dtype=object))
    >>> [int(n) for n in shapely.get_num_coordinates(got)]
    [1, 11, 11, 5]
    """
    types = shapely.get_type_id(features)
    if np.all((types == 0) | (types == 1)):
        n = shapely.get_num_coordinates(features[types == 1])
        if np.all((n >= 2) & (n <= PIECE_SEGMENTS + 1)):
            return features  # pieces already (points, short lines)
    parts = single_parts(features)
    lines = shapely.get_type_id(parts) == 1
    others, line_parts = parts[~lines], parts[lines]
    n = shapely.get_num_coordinates(line_parts).astype(np.int64)
    count = np.where(n >= 2, (n - 2) // PIECE_SEGMENTS + 1, 0)
    out = np.empty(len(others) + int(count.sum()), dtype=object)
    out[: len(others)] = others
    slot = len(others) + np.cumsum(count) - count  # each line's first piece
    whole = count == 1
    out[slot[whole]] = line_parts[whole]
    cut = np.flatnonzero(count > 1)
    if len(cut) == 0:
        return out
    coords = shapely.get_coordinates(line_parts[cut])
    k, m = count[cut], n[cut]
    line_start = np.cumsum(m) - m  # in ``coords``
    piece_line = np.repeat(np.arange(len(cut)), k)
    rank = np.arange(len(piece_line)) - np.repeat(np.cumsum(k) - k, k)
    first = line_start[piece_line] + PIECE_SEGMENTS * rank
    end = np.minimum(first + PIECE_SEGMENTS, line_start[piece_line] + m[piece_line] - 1)
    size = end - first + 1
    gather = np.repeat(first - (np.cumsum(size) - size), size) + np.arange(size.sum())
    pieces = shapely.linestrings(
        coords[gather], indices=np.repeat(np.arange(len(rank)), size)
    )
    out[np.repeat(slot[cut], k) + rank] = pieces
    return out


def single_parts(features: NDArray[np.object_]) -> NDArray[np.object_]:
    """``shapely.get_parts(features)``, without copying single parts.

    The features themselves (the missing ones left out) when none is a multi-part or
    a collection; ``get_parts`` would copy each one.

    >>> got = single_parts(np.array([shapely.MultiPoint([(0, 0), (1, 1)])]))
    >>> [g.wkt for g in got]
    ['POINT (0 0)', 'POINT (1 1)']
    """
    features = np.asarray(features, dtype=object)
    if np.isin(shapely.get_type_id(features), (4, 5, 6, 7)).any():
        return np.asarray(shapely.get_parts(features), dtype=object)
    present: NDArray[np.object_] = features[~shapely.is_missing(features)]
    return present
