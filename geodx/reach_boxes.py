"""Exact point-within-distance of network pieces, decided box by box where it can be.

:func:`within_pieces` gives, for every point, the answer of
``STRtree(pieces).query(points, predicate="dwithin", distance=d)`` (some piece hit),
without buffers and without a GEOS call per point. It starts from the grid's cells
and their points:

- a box whose four corners all lie within ``d - margin`` of one segment holds only
  points within ``d`` (the distance to a segment is convex, so it peaks at a corner):
  all in;
- a segment whose distance from the box's centre exceeds ``d + margin`` plus the
  half-diagonal reaches none of the box's points, so the pair is dropped; a box left
  with no segment: all out;
- a box still undecided that holds more than :data:`CROWDED` points is halved both
  ways, up to :data:`LEVELS` times (500 m -> 31 m); the points of the other
  undecided boxes are tested against each of their box's segments, by
  :func:`geodx.reach_segments.near2` where it is ``margin`` clear of ``d`` and by
  GEOS's own arithmetic (:func:`geodx.reach_segments.geos_dwithin`) where it is not.

The margin (:func:`geodx.reach_segments.margin`) dwarfs every rounding of these
shortcuts, so each one decides as GEOS does for every point it decides.

The points are sorted once by cell and, within a cell, in Z order of a 2**LEVELS grid:
every box of every level is then one run of that order, and halving a box only finds
where its run changes quarter.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from geodx.overlay import GridIndex
from geodx.reach_segments import Segments, geos_dwithin, inner2, margin, near2

# Halvings of a grid cell at most, and the points a box must hold to be halved rather
# than tested point by point (measured on national partitions: 4 and 16 are fastest).
LEVELS = 4
CROWDED = 16
# Lattice cells at most in the table of occupied cells (8 bytes each).
_TABLE = 1 << 22
# Point-segment pairs tested at once (memory: some 30 arrays of this length).
_CHUNK = 1 << 20
# The Z order: bit k of a sub-cell column goes to bit 2k of the code, of a row to 2k+1.
_SPREAD = np.array(
    [sum(((v >> k) & 1) << (2 * k) for k in range(8)) for v in range(256)],
    dtype=np.int64,
)

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
# The last Z order computed: (ids of grid, x, y), a weak reference to the grid, order.
_LAST: dict[str, Any] = {}


@dataclass(frozen=True)
class _Boxes:
    """Square boxes of side ``side``.

    Box ``b`` holds the points ``order[start[b]:start[b] + count[b]]``.
    """

    x0: Floats
    y0: Floats
    start: Ints
    count: Ints
    side: float


@dataclass(frozen=True)
class _ZOrder:
    """The points sorted by grid cell then Z code (bit 2k: column, 2k + 1: row)."""

    order: Ints
    code: Ints


def within_pieces(
    x: Floats,
    y: Floats,
    pieces: NDArray[np.object_],
    segs: Segments,
    *,
    distance: float,
    grid: GridIndex,
) -> NDArray[np.bool_]:
    """Return whether each point is within ``distance`` of a piece (the query's answer).

    Parameters
    ----------
    x, y : ndarray of float64
        Point coordinates, in the pieces' CRS.
    pieces : ndarray of shapely Points and LineStrings
        What :func:`geodx.reach.network_pieces` returns.
    segs : Segments
        :func:`geodx.reach_segments.segments_of` the pieces.
    distance : float
        Service distance, finite and not negative.
    grid : GridIndex
        :func:`geodx.overlay.build_grid` of the same points.

    Returns
    -------
    ndarray of bool
    """
    out = np.zeros(len(x), dtype=bool)
    if len(x) == 0 or len(segs.ax) == 0:
        return out
    d = float(distance)
    slack = margin(x, y, segs, d)
    bounds = grid.bounds
    boxes = _Boxes(
        x0=bounds[:, 0],
        y0=bounds[:, 1],
        start=grid.starts[:-1],
        count=np.diff(grid.starts),
        side=float(np.max(bounds[:, 2] - bounds[:, 0])),
    )
    cell, seg = _first_pairs(pieces, segs, bounds, d + slack, grid.cell_size)
    z = _ZOrder(grid.order, grid.order)
    for level in range(LEVELS + 1):
        keep, covered = _classify(boxes, segs, cell, seg, d, slack)
        out[_points_of(z.order, boxes, np.flatnonzero(covered))] = True
        cell, seg = cell[keep], seg[keep]
        split = boxes.count[cell] > CROWDED
        if level == LEVELS or not split.any():
            _test_points(x, y, z.order, boxes, segs, cell, seg, (d, slack), out)
            break
        _test_points(
            x, y, z.order, boxes, segs, cell[~split], seg[~split], (d, slack), out
        )
        if level == 0:  # the same runs per cell, the split ones now in Z order
            z = _shared_z_order(x, y, grid, boxes)
        boxes, cell, seg = _halve(z, boxes, cell[split], seg[split], level)
    return out


def _first_pairs(
    pieces: NDArray[np.object_],
    segs: Segments,
    bounds: Floats,
    reach: float,
    cell_size: float,
) -> tuple[Ints, Ints]:
    """(cell, segment) pairs whose box and segment envelope, grown by reach, meet.

    A point farther than ``d`` from a segment's envelope is farther than ``d`` from
    the segment, so a box that does not meet the envelope grown by ``d + margin``
    holds no point within ``d`` of it. The grid's boxes sit on a lattice of
    ``cell_size``: each segment's grown envelope spans a range of its columns and
    rows, looked up in a table of the occupied cells (rounding in the range errs by
    far less than the margin). A lattice too large for a table, or segments spanning
    too many cells, go through an STRtree of the pieces instead.
    """
    side = float(np.max(bounds[:, 2] - bounds[:, 0]))
    left, bottom = float(bounds[:, 0].min()), float(bounds[:, 1].min())
    col = np.rint((bounds[:, 0] - left) / cell_size).astype(np.int64)
    row = np.rint((bounds[:, 1] - bottom) / cell_size).astype(np.int64)
    cols, rows = int(col.max()) + 1, int(row.max()) + 1
    lo_c, hi_c = _span(segs.ax, segs.bx, left, reach, side, cell_size, cols)
    lo_r, hi_r = _span(segs.ay, segs.by, bottom, reach, side, cell_size, rows)
    n_c, n_r = np.maximum(hi_c - lo_c + 1, 0), np.maximum(hi_r - lo_r + 1, 0)
    count = n_c * n_r
    total = int(count.sum())
    if cols * rows > _TABLE or total > 16 * len(segs.ax) + _TABLE:
        return _tree_pairs(pieces, segs, bounds, reach)
    table = np.full(cols * rows, -1, dtype=np.int64)
    table[col * rows + row] = np.arange(len(col))
    seg, k = _cross(np.arange(len(count)), np.zeros(len(count), np.int64), count)
    cell = table[(lo_c[seg] + k // n_r[seg]) * rows + lo_r[seg] + k % n_r[seg]]
    meets = cell >= 0
    return cell[meets], seg[meets]


def _span(
    a: Floats, b: Floats, origin: float, reach: float, side: float, size: float, n: int
) -> tuple[Ints, Ints]:
    """The lattice columns (or rows) whose boxes meet [min(a, b), max(a, b)] +- reach."""
    lo = np.ceil((np.minimum(a, b) - reach - side - origin) / size)
    hi = np.floor((np.maximum(a, b) + reach - origin) / size)
    return (
        np.clip(lo, 0, n).astype(np.int64),
        np.clip(hi, -1, n - 1).astype(np.int64),
    )


def _tree_pairs(
    pieces: NDArray[np.object_], segs: Segments, bounds: Floats, reach: float
) -> tuple[Ints, Ints]:
    """(cell, segment) pairs of the pieces whose envelopes meet a box grown by reach."""
    grown = shapely.box(
        bounds[:, 0] - reach,
        bounds[:, 1] - reach,
        bounds[:, 2] + reach,
        bounds[:, 3] + reach,
    )
    cell, piece = shapely.STRtree(pieces).query(grown)
    first = np.searchsorted(segs.piece, np.arange(len(pieces) + 1))
    return _cross(cell, first[piece], np.diff(first)[piece])


def _cross(key: Ints, first: Ints, count: Ints) -> tuple[Ints, Ints]:
    """Pairs ``(key[i], first[i] + k)`` for every ``i`` and ``k < count[i]``.

    Examples
    --------
    >>> a, b = _cross(np.array([7, 8]), np.array([10, 20]), np.array([2, 1]))
    >>> a.tolist(), b.tolist()
    ([7, 7, 8], [10, 11, 20])
    """
    rep = np.repeat(np.arange(len(key)), count)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)
    return key[rep], first[rep] + offset


def _points_of(order: Ints, boxes: _Boxes, cells: Ints) -> Ints:
    """The points of the boxes ``cells``."""
    _, at = _cross(cells, boxes.start[cells], boxes.count[cells])
    return order[at]


def _classify(
    boxes: _Boxes,
    segs: Segments,
    cell: Ints,
    seg: Ints,
    d: float,
    slack: float,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Return ``(keep, covered)``: the pairs still undecided, and the boxes all in.

    A pair whose box's four corners are within ``d - slack`` of its segment covers the
    box. A pair whose box centre is farther than ``d + slack`` plus the half-diagonal
    (0.7072 of the side, above sqrt(2) / 2) reaches none of its points. The pairs of
    covered boxes are dropped with them.
    """
    ax, ay, ux, uy = segs.ax[seg], segs.ay[seg], segs.ux[seg], segs.uy[seg]
    inv = segs.inv[seg]
    x0, y0, w = boxes.x0[cell], boxes.y0[cell], boxes.side
    far = near2(x0, y0, ax, ay, ux, uy, inv)
    for cx, cy in ((x0 + w, y0), (x0, y0 + w), (x0 + w, y0 + w)):
        np.maximum(far, near2(cx, cy, ax, ay, ux, uy, inv), out=far)
    centre = near2(x0 + w / 2, y0 + w / 2, ax, ay, ux, uy, inv)
    covered = np.zeros(len(boxes.x0), dtype=bool)
    covered[cell[far <= inner2(d, slack)]] = True
    keep = ~covered[cell] & (centre <= (d + slack + w * 0.7072) ** 2)
    return keep, covered


def _test_points(
    x: Floats,
    y: Floats,
    order: Ints,
    boxes: _Boxes,
    segs: Segments,
    cell: Ints,
    seg: Ints,
    reach: tuple[float, float],
    out: NDArray[np.bool_],
) -> None:
    """Set ``out`` for the points of each pair's box within d of the pair's segment.

    ``near2`` decides the pairs ``slack`` clear of ``d``: a point within ``d - slack``
    of a segment passes all three of GEOS's tests, one beyond ``d + slack`` fails the
    last. :func:`geos_dwithin` decides the rest, ties included.
    """
    d, slack = reach
    inner, outer = inner2(d, slack), (d + slack) ** 2
    ends = np.cumsum(boxes.count[cell])
    lo = 0
    while lo < len(cell):
        hi = int(np.searchsorted(ends, ends[lo] - boxes.count[cell[lo]] + _CHUNK))
        hi = max(hi, lo + 1)
        part = cell[lo:hi]
        pair, at = _cross(np.arange(lo, hi), boxes.start[part], boxes.count[part])
        point = order[at]
        fresh = ~out[point]
        point, s = point[fresh], seg[pair[fresh]]
        px, py = x[point], y[point]
        dist2 = near2(
            px, py, segs.ax[s], segs.ay[s], segs.ux[s], segs.uy[s], segs.inv[s]
        )
        out[point[dist2 <= inner]] = True
        tie = np.flatnonzero((dist2 > inner) & (dist2 <= outer))
        hit = geos_dwithin(px[tie], py[tie], segs, s[tie], d)
        out[point[tie[hit]]] = True
        lo = hi


def _shared_z_order(x: Floats, y: Floats, grid: GridIndex, boxes: _Boxes) -> _ZOrder:
    """:func:`_z_order` of every crowded cell, kept for the next network of the points.

    The networks of a partition share its grid and points, and the order depends on
    nothing else (and the two constants), so the last one is kept until its grid is
    collected: one at a time, so memory stays one partition's.
    """
    key = (id(grid), id(x), id(y), LEVELS, CROWDED)
    kept = _LAST.get("z")
    if kept is not None and kept[0] == key and kept[1]() is grid:
        z: _ZOrder = kept[2]
        return z
    z = _z_order(x, y, grid, boxes, np.flatnonzero(boxes.count > CROWDED))

    def forget(_: object) -> None:
        if _LAST.get("z", (None,))[0] == key:
            _LAST.pop("z", None)

    _LAST["z"] = (key, weakref.ref(grid, forget), z)
    return z


def _z_order(
    x: Floats, y: Floats, grid: GridIndex, boxes: _Boxes, cells: Ints
) -> _ZOrder:
    """The grid's points, those of ``cells`` sorted within their cell by Z code.

    A point goes to sub-cell ``floor((x - x0) / fine)`` of a 2**LEVELS grid, which
    holds it up to a rounding far inside the margin (``x >= x0`` in every cell, the
    boxes being grown, so only the top is clipped). Each cell keeps its run of the
    grid's order.
    """
    split = np.zeros(len(boxes.x0), dtype=bool)
    split[cells] = True
    owner = np.repeat(np.arange(len(boxes.x0)), boxes.count)
    at = np.flatnonzero(split[owner])
    owner = owner[at]
    points = grid.order[at]
    scale = 2**LEVELS / boxes.side
    top = 2**LEVELS - 1
    col = ((x[points] - boxes.x0[owner]) * scale).astype(np.int64)
    row = ((y[points] - boxes.y0[owner]) * scale).astype(np.int64)
    code = _SPREAD[np.minimum(col, top, out=col)]
    code |= _SPREAD[np.minimum(row, top, out=row)] << 1
    sort = np.argsort(owner * 4**LEVELS + code)
    z = _ZOrder(grid.order.copy(), np.zeros(len(x), dtype=np.int64))
    z.order[at] = points[sort]
    z.code[at] = code[sort]
    return z


def _halve(
    z: _ZOrder, boxes: _Boxes, cell: Ints, seg: Ints, level: int
) -> tuple[_Boxes, Ints, Ints]:
    """The boxes of ``cell`` halved both ways, and their pairs with ``seg``.

    Each box of level ``level`` is a run of ``z.order``; its quarters are the runs of
    equal ``code >> 2 * (LEVELS - level - 1)`` within it (empty quarters are left out).
    """
    parents, pair_parent = np.unique(cell, return_inverse=True)
    owner, at = _cross(
        np.arange(len(parents)), boxes.start[parents], boxes.count[parents]
    )
    shift = LEVELS - level - 1
    quarter = z.code[at] >> (2 * shift)
    head = np.flatnonzero(
        np.r_[True, (owner[1:] != owner[:-1]) | (quarter[1:] != quarter[:-1])]
    )
    side = boxes.side / 2
    first_at = at[head]
    parent = owner[head]
    bits = quarter[head]
    sub = _Boxes(
        x0=boxes.x0[parents][parent] + (bits & 1) * side,
        y0=boxes.y0[parents][parent] + ((bits >> 1) & 1) * side,
        start=first_at,
        count=np.diff(np.r_[head, len(at)]),
        side=side,
    )
    first = np.searchsorted(parent, np.arange(len(parents) + 1))
    new_seg, new_cell = _cross(seg, first[pair_parent], np.diff(first)[pair_parent])
    return sub, new_cell, new_seg
