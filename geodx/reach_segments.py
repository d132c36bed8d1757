"""The arithmetic of point-within-distance of network pieces, in numpy.

:func:`geos_dwithin` repeats, operation for operation, what GEOS computes when
``STRtree(pieces).query(point, predicate="dwithin", distance=d)`` tests one piece,
so its answers are GEOS's to the last bit. :func:`near2` is a cheaper distance for
decisions that keep a :func:`margin` from ``d`` (:mod:`geodx.reach_boxes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from numpy.typing import NDArray

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Segments:
    """The segments of network pieces (a point piece is one segment from A to A).

    Attributes
    ----------
    ax, ay, bx, by : ndarray of float64
        Segment ends.
    piece : ndarray of int64
        The piece each segment belongs to.
    bounds : ndarray of float64, shape (n_pieces, 4)
        Each piece's envelope (xmin, ymin, xmax, ymax), as GEOS holds it.
    """

    ax: Floats
    ay: Floats
    bx: Floats
    by: Floats
    piece: NDArray[np.int64]
    bounds: Floats

    @property
    def ux(self) -> Floats:
        """``bx - ax``."""
        return self._steps[0]

    @property
    def uy(self) -> Floats:
        """``by - ay``."""
        return self._steps[1]

    @property
    def inv(self) -> Floats:
        """``1 / (ux * ux + uy * uy)``, 0 where A == B."""
        return self._steps[2]

    @cached_property
    def _steps(self) -> tuple[Floats, Floats, Floats]:
        ux, uy = self.bx - self.ax, self.by - self.ay
        len2 = ux * ux + uy * uy
        inv = np.divide(1.0, len2, out=np.zeros_like(len2), where=len2 > 0)
        return ux, uy, inv


def segments_of(pieces: NDArray[np.object_]) -> Segments | None:
    """The segments of points and lines; ``None`` for any other type or non-finite data.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> s = segments_of(np.array([shapely.Point(5, 5), shapely.LineString([(0, 0), (1, 0), (1, 2)])]))
    >>> s.piece.tolist(), s.bx.tolist(), s.by.tolist()
    ([0, 1, 1], [5.0, 1.0, 1.0], [5.0, 0.0, 2.0])
    """
    types = shapely.get_type_id(pieces)
    if not np.all((types == 0) | (types == 1)):
        return None
    coords, owner = shapely.get_coordinates(pieces, return_index=True)
    if not np.all(np.isfinite(coords)):
        return None
    owner = owner.astype(np.int64)
    point = types[owner] == 0
    start = np.r_[owner[1:] == owner[:-1], False] & ~point
    first = np.flatnonzero(start | point)
    last = first + start[first]
    return Segments(
        ax=coords[first, 0],
        ay=coords[first, 1],
        bx=coords[last, 0],
        by=coords[last, 1],
        piece=owner[first],
        bounds=shapely.bounds(pieces),
    )


def geos_dwithin(
    px: Floats, py: Floats, segs: Segments, seg: NDArray[np.int64], d: float
) -> NDArray[np.bool_]:
    """Whether point ``i`` is within ``d`` of segment ``seg[i]`` as the query decides.

    ``STRtree.query(point, "dwithin", d)`` reports a piece when three tests pass, and
    this repeats each operation of GEOS 3.14 in the same order (IEEE float64: numpy's
    + - * / and sqrt round as the compiled library does, which uses no fused
    multiply-add on x86-64):

    1. the tree: the box (x - d, y - d, x + d, y + d) meets the piece's envelope;
    2. ``DistanceOp::isWithinDistance``: the envelopes' distance
       ``sqrt(dx * dx + dy * dy)``, ``dx = max(0, max(x, xmax) - min(x, xmin) - (x - x)
       - (xmax - xmin))``, is not above ``d``;
    3. ``Distance::pointToSegment`` (``Coordinate::distance`` for a point piece and for
       A == B) is at most ``d`` for some segment of the piece.

    A point is within the piece when 1 and 2 hold and 3 holds for one of its segments,
    so OR-ing this over the piece's segments is the query's answer.
    """
    ax, ay, bx, by = segs.ax[seg], segs.ay[seg], segs.bx[seg], segs.by[seg]
    env = segs.bounds[segs.piece[seg]]
    x0, y0, x1, y1 = env[:, 0], env[:, 1], env[:, 2], env[:, 3]
    ok = ~((x0 > px + d) | (x1 < px - d) | (y0 > py + d) | (y1 < py - d))
    zero = px - px
    ex = np.maximum(0.0, np.maximum(px, x1) - np.minimum(px, x0) - zero - (x1 - x0))
    zero = py - py
    ey = np.maximum(0.0, np.maximum(py, y1) - np.minimum(py, y0) - zero - (y1 - y0))
    ok &= ~(np.sqrt(ex * ex + ey * ey) > d)
    ok &= point_to_segment(px, py, ax, ay, bx, by) <= d
    return ok


def point_to_segment(
    px: Floats, py: Floats, ax: Floats, ay: Floats, bx: Floats, by: Floats
) -> Floats:
    """GEOS's ``Distance::pointToSegment``, operation for operation.

    Examples
    --------
    >>> one = lambda v: np.array([float(v)])
    >>> point_to_segment(one(3), one(4), one(0), one(0), one(0), one(0)).tolist()
    [5.0]
    >>> point_to_segment(one(5), one(-2), one(0), one(0), one(10), one(0)).tolist()
    [2.0]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        ux, uy = bx - ax, by - ay
        len2 = ux * ux + uy * uy
        r = ((px - ax) * ux + (py - ay) * uy) / len2
        s = ((ay - py) * ux - (ax - px) * uy) / len2
        line = np.abs(s) * np.sqrt(len2)
    dx, dy = px - ax, py - ay
    to_a = np.sqrt(dx * dx + dy * dy)
    dx, dy = px - bx, py - by
    to_b = np.sqrt(dx * dx + dy * dy)
    # A == B first (r is NaN there), then r <= 0, then r >= 1, as GEOS branches.
    same = (ax == bx) & (ay == by)
    out: Floats = np.where(same | (r <= 0.0), to_a, np.where(r >= 1.0, to_b, line))
    return out


def near2(
    px: Floats, py: Floats, ax: Floats, ay: Floats, ux: Floats, uy: Floats, inv: Floats
) -> Floats:
    """Squared distance to the segment (A, A + u), for box and pair decisions only.

    The nearest point A + t u, t clipped to [0, 1], is found as any textbook does;
    the result errs by a few roundings of the coordinates, far inside the margin.
    """
    t = np.clip(((px - ax) * ux + (py - ay) * uy) * inv, 0.0, 1.0)
    dx = px - (ax + t * ux)
    dy = py - (ay + t * uy)
    out: Floats = dx * dx + dy * dy
    return out


def inner2(d: float, slack: float) -> float:
    """``(d - slack) ** 2``, or -1 (nothing is that close) when ``d <= slack``."""
    return (d - slack) ** 2 if d > slack else -1.0


def margin(x: Floats, y: Floats, segs: Segments, d: float) -> float:
    """The slack of the box tests: 1e-7 of the largest coordinate or distance.

    A box decision compares a distance computed in float64 from coordinates of at
    most ``M`` in size (corners, centres, segment ends) with ``d -+ margin``. Each
    rounding errs by at most 2**-53 of the value it rounds and the distances involve
    differences of at most 4 M, so the computed distances err by far less than
    1e-13 M; a point placed in a sub-box by rounding lies outside it by less than that
    too. 1e-7 M is thus both safe and (0.25 m at M = 2.5e6 m) too thin to matter.
    """
    big = max(
        float(np.abs(x).max(initial=0.0)),
        float(np.abs(y).max(initial=0.0)),
        float(np.abs(segs.bounds).max(initial=0.0)),
        abs(d),
    )
    return 1e-7 * big
