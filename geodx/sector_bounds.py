"""Bounds on a sector's RSRP over a block of households: sectors skipped exactly.

For a block (the bounding box of some households) and a sector, the rule of
:mod:`geodx.propagation` is bounded from above by the nearest ground distance to the
box and the best gain any bearing into the box can get, and from below by the
farthest corner and the worst such gain. A sector can then be left out of the block's
evaluation without changing any answer the prediction promises (the exact best RSRP
wherever it is at least the floor):

- its upper bound is below the floor: at every household of the block it is below
  the floor, so it is the best sector only where the best is below the floor (where
  values may be lower than the true RSRP, never higher);
- its upper bound is below another sector's lower bound: at every household that other
  sector is stronger, so the maximum is the same number, bit for bit (a maximum
  picks a value, it computes none).

Both bounds are widened by margins far above any float rounding of the rule
(:data:`DISTANCE_SLACK_M`, :data:`ANGLE_SLACK_DEG`, :data:`DB_SLACK`), so a sector
that could be the best somewhere is always kept.

Bearings into a box seen from a site outside it lie in a cone of less than 180
degrees (a convex set not holding the point lies in an open half-plane): the corners'
bearings relative to the box centre's bound it, and the angle from the azimuth to the
cone is at its least and greatest at the cone's edges unless the azimuth (or its back)
lies inside. A site in or at the box, or a cone wider than :data:`WIDE_DEG`, gets the
widest range (0 to 180 degrees).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from geodx.pathloss import MAX_ATTENUATION_DB, MIN_DISTANCE_KM

FloatArray = NDArray[np.float64]

DISTANCE_SLACK_M = 1.0
ANGLE_SLACK_DEG = 1e-6
DB_SLACK = 1e-6
WIDE_DEG = 170.0


def _wrap(angle: FloatArray) -> FloatArray:
    """Degrees wrapped to [-180, 180)."""
    return np.asarray(np.mod(angle + 180.0, 360.0) - 180.0)


def _bearing(dx: FloatArray, dy: FloatArray) -> FloatArray:
    """Clockwise from north, as the rule measures it."""
    return np.asarray(np.degrees(np.arctan2(dx, dy)))


def angle_range(
    box: tuple[FloatArray, ...], sx: FloatArray, sy: FloatArray, azimuth: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Least and greatest |angle| from ``azimuth`` to a bearing into ``box``, per pair.

    ``box`` is ``(xmin, ymin, xmax, ymax)``; every array has one entry per
    (box, sector) pair. Without slack; NaN azimuths give NaN.
    """
    xmin, ymin, xmax, ymax = box
    centre = _bearing((xmin + xmax) / 2 - sx, (ymin + ymax) / 2 - sy)
    corners = [
        _wrap(_bearing(cx - sx, cy - sy) - centre)
        for cx in (xmin, xmax)
        for cy in (ymin, ymax)
    ]
    lo = np.minimum.reduce(corners)
    hi = np.maximum.reduce(corners)
    a = _wrap(azimuth - centre)
    to_lo, to_hi = np.abs(_wrap(a - lo)), np.abs(_wrap(a - hi))
    back = _wrap(a + 180.0)
    least = np.where((lo <= a) & (a <= hi), 0.0, np.minimum(to_lo, to_hi))
    most = np.where((lo <= back) & (back <= hi), 180.0, np.maximum(to_lo, to_hi))
    inside = (xmin <= sx) & (sx <= xmax) & (ymin <= sy) & (sy <= ymax)
    wide = inside | (hi - lo > WIDE_DEG)
    return np.where(wide, 0.0, least), np.where(wide, 180.0, most)


def _gain(angle: FloatArray, beamwidth: FloatArray) -> FloatArray:
    return np.asarray(-np.minimum(12.0 * (angle / beamwidth) ** 2, MAX_ATTENUATION_DB))


def _received(k: FloatArray, b: FloatArray, distance_m: FloatArray) -> FloatArray:
    d_km = np.maximum(distance_m / 1000.0, MIN_DISTANCE_KM)
    return np.asarray(k - b * np.log10(d_km))


def rsrp_bounds(
    box: tuple[FloatArray, ...],
    sx: FloatArray,
    sy: FloatArray,
    azimuth: FloatArray,
    beamwidth: FloatArray,
    k: FloatArray,
    b: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Upper and lower bounds of the RSRP over ``box``, per (box, sector) pair.

    ``k = rs_eirp_dbm - A`` and ``b = B`` of the rule (``rx = k - b log10 d + G``);
    the bounds hold every household inside the box, slack included.
    """
    xmin, ymin, xmax, ymax = box
    gap_x = np.maximum(np.maximum(xmin - sx, sx - xmax), 0.0)
    gap_y = np.maximum(np.maximum(ymin - sy, sy - ymax), 0.0)
    near_m = np.maximum(np.hypot(gap_x, gap_y) - DISTANCE_SLACK_M, 0.0)
    far_x = np.maximum(np.abs(xmin - sx), np.abs(xmax - sx))
    far_y = np.maximum(np.abs(ymin - sy), np.abs(ymax - sy))
    far_m = np.hypot(far_x, far_y) + DISTANCE_SLACK_M
    directional = ~np.isnan(azimuth)
    least, most = angle_range(box, sx, sy, np.where(directional, azimuth, 0.0))
    least = np.maximum(least - ANGLE_SLACK_DEG, 0.0)
    most = np.minimum(most + ANGLE_SLACK_DEG, 180.0)
    best_gain = np.where(directional, _gain(least, beamwidth), 0.0)
    worst_gain = np.where(directional, _gain(most, beamwidth), 0.0)
    upper = _received(k, b, near_m) + best_gain + DB_SLACK
    lower = _received(k, b, far_m) + worst_gain - DB_SLACK
    return upper, lower


def prune_pairs(
    box: tuple[FloatArray, ...],
    block: NDArray[np.intp],
    sector: NDArray[np.intp],
    sectors: tuple[FloatArray, ...],
    *,
    blocks: int,
    floor_dbm: float,
) -> tuple[NDArray[np.bool_], FloatArray, FloatArray]:
    """Which (block, sector) pairs to keep, with each pair's upper and lower bound.

    ``box`` is ``(xmin, ymin, xmax, ymax)`` per block, ``sectors`` is ``(x, y,
    azimuth_deg, beamwidth_deg, k, b)`` per sector. A pair is dropped when its upper
    bound is below the floor or below the lower bound of another sector of its block
    (see the module).
    """
    pair_box = tuple(v[block] for v in box)
    sx, sy, azimuth, beamwidth, k, b = (v[sector] for v in sectors)
    upper, lower = rsrp_bounds(pair_box, sx, sy, azimuth, beamwidth, k, b)
    best = np.full(blocks, -np.inf)
    np.maximum.at(best, block, lower)
    keep = upper >= np.maximum(floor_dbm, best[block])
    return np.asarray(keep), upper, lower
