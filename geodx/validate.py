"""Plausibility checks on household positions: swapped lon/lat, points far outside the region."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geodx.errors import CRSError
from geodx.points import HouseholdPoints

# A region's households may spill a little beyond its communes (slivers, border
# villages); when most fall outside, the coordinates are wrong, not the households.
MAX_OUTSIDE_SHARE = 0.5
MARGIN_DEG = 0.1


def check_households_in_region(
    households: HouseholdPoints,
    bounds: tuple[float, float, float, float],
    *,
    path: Path,
) -> None:
    """Raise :class:`CRSError` when household positions cannot be right.

    Checks that WGS84 positions are finite and in range, and that most households fall
    within ``bounds``, the communes' WGS84 bounding box, grown by 0.1 degree; says when swapping lon and
    lat would fix it.
    """
    if len(households) == 0:
        return
    lng, lat = households.lng_lat
    bad = ~(np.isfinite(lng) & np.isfinite(lat))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise CRSError(
            f"{path}: household coordinates cannot be transformed to WGS84 lon/lat "
            f"({int(bad.sum())} row(s), first row {row + 1})"
        )
    west, south, east, north = bounds
    box = (west - MARGIN_DEG, south - MARGIN_DEG, east + MARGIN_DEG, north + MARGIN_DEG)
    weight = np.maximum(households.weight, 1e-12)
    outside = 1 - _share_inside(lng, lat, box, weight)
    if outside <= MAX_OUTSIDE_SHARE:
        return
    if 1 - _share_inside(lat, lng, box, weight) <= MAX_OUTSIDE_SHARE:
        raise CRSError(
            f"{path}: household lon/lat look swapped: {outside:.0%} fall outside the region, "
            "but they fit with lon and lat exchanged; check the [households] lon/lat columns"
        )
    raise CRSError(
        f"{path}: {outside:.0%} of households fall outside the region "
        f"(lon {west:.3f}..{east:.3f}, lat {south:.3f}..{north:.3f}); check the file's CRS "
        "and the [households] lon/lat columns"
    )


def _share_inside(
    x: np.ndarray, y: np.ndarray, box: tuple[float, ...], weight: np.ndarray
) -> float:
    west, south, east, north = box
    inside = (x >= west) & (x <= east) & (y >= south) & (y <= north)
    return float(weight[inside].sum() / weight.sum())
