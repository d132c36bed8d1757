"""Households from counts: each commune's count spread over pixels or buildings.

The rule is DESIGN.md's "Households from counts" contract, exactly, so that an
independent check can reproduce it:

- a candidate (a pixel centre, a building centroid or point) belongs to the commune
  covering it, boundary included; several -> the smallest ``commune_code`` (the rule of
  :func:`geodx.coverage.assign_communes`, which this module calls);
- a candidate of commune C with value ``v > 0`` becomes a household point with weight
  ``count(C) x v / sum of v over C's candidates``;
- a commune with a count but no positive candidate puts its whole count on its
  ``point_on_surface``; without candidates every commune does;
- counts whose code is no commune are not placed (reported); communes without a count
  have no households.

No file access here: :mod:`geodx.counts` reads the table, the raster and the buildings.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from geodx.contract import input_path
from geodx.contract_names import ESTIMATED_MEMBER
from geodx.coverage import assign_communes
from geodx.errors import GeodxWarning
from geodx.manifest_specs import CountsSpec
from geodx.points import HouseholdPoints

RASTER_RULE = (
    "each valid pixel > 0 (mask, nodata, scale/offset) whose centre lies in commune C "
    "(boundary included; several -> smallest commune_code) is a point at that centre "
    "weighing count(C) x value / sum of C's pixel values"
)
VECTOR_RULE = (
    "each building in commune C (polygon: centroid, w = footprint area in m2, both in "
    "the region's UTM zone; point: w = 1) is a point weighing count(C) x w / sum of C's w"
)
FALLBACK_RULE = (
    "a commune with a count but nothing to spread over: its whole count on its "
    "point_on_surface"
)


@dataclass(frozen=True)
class Candidates:
    """Where households may live: positions in ``crs`` and a value each.

    ``value`` is the pixel value (after mask, nodata and scale/offset; NaN where not
    valid), the footprint area in m2, or 1 for a building point.
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    value: NDArray[np.float64]
    crs: CRS


@dataclass(frozen=True)
class CommuneCounts:
    """Counts matched to the communes (``NaN``: the commune has no count row)."""

    count: NDArray[np.float64]
    not_placed: float
    not_placed_codes: tuple[str, ...]


@dataclass(frozen=True)
class Spread:
    """The estimated household points and how each commune got its households.

    Attributes
    ----------
    points : HouseholdPoints
        In the communes' CRS; spread points first, then the fallback points.
    commune : ndarray of int64
        The commune index (row of ``communes``) of each point.
    fallback : ndarray of bool
        Per commune: its count sits on its ``point_on_surface``.
    """

    points: HouseholdPoints
    commune: NDArray[np.int64]
    fallback: NDArray[np.bool_]


@dataclass(frozen=True)
class Estimate:
    """How the households were estimated: what ``summary.json`` reports."""

    method: str
    vintage: str | None
    not_placed: float
    not_placed_codes: tuple[str, ...]
    fallback_communes: int

    @classmethod
    def of(
        cls, spec: CountsSpec, spread: Spread, matched: CommuneCounts, *, root: Path
    ) -> Estimate:
        """The estimate of a run from its ``[households]`` spec and its spread."""
        counts = input_path(spec.counts, root)
        if spec.spread is None:
            rule = (
                f"counts per commune from {counts}; {FALLBACK_RULE} (no spread given)"
            )
        else:
            raster = spec.spread.suffix.lower() in {".tif", ".tiff"}
            how = RASTER_RULE if raster else VECTOR_RULE
            where = input_path(spec.spread, root)
            rule = f"counts per commune from {counts} spread over {where}: {how}; "
            rule += FALLBACK_RULE
        return cls(
            method=rule,
            vintage=spec.vintage,
            not_placed=matched.not_placed,
            not_placed_codes=matched.not_placed_codes,
            fallback_communes=int(spread.fallback.sum()),
        )

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` keys of an estimate."""
        return {
            ESTIMATED_MEMBER: True,
            "households_method": self.method,
            "households_vintage": self.vintage,
            "households_not_placed": self.not_placed,
            "households_not_placed_codes": list(self.not_placed_codes),
            "households_fallback_communes": self.fallback_communes,
        }


def match_counts(
    commune_codes: pd.Series, codes: pd.Series, counts: NDArray[np.float64]
) -> CommuneCounts:
    """Align a counts table (unique ``codes``) with the communes' codes.

    Examples
    --------
    >>> m = match_counts(pd.Series(["1", "2"]), pd.Series(["2", "9"]), np.array([5.0, 3.0]))
    >>> m.count.tolist(), m.not_placed, m.not_placed_codes
    ([nan, 5.0], 3.0, ('9',))
    """
    by_code = pd.Series(np.asarray(counts, dtype=np.float64), index=codes.astype(str))
    known = by_code.index.isin(commune_codes.astype(str))
    aligned: NDArray[np.float64] = np.asarray(
        by_code.reindex(commune_codes.astype(str)).to_numpy(), dtype=np.float64
    )
    missing = by_code[~known]
    return CommuneCounts(
        count=aligned,
        not_placed=float(missing.sum()),
        not_placed_codes=tuple(sorted(missing.index)),
    )


def spread_counts(
    communes: gpd.GeoDataFrame,
    count: NDArray[np.float64],
    candidates: Candidates | None = None,
) -> Spread:
    """Spread ``count`` (one per commune, NaN for none) over ``candidates``.

    Parameters
    ----------
    communes : GeoDataFrame
        Sorted by ``commune_code``, as :func:`geodx.io.read_communes` returns them.
    count : ndarray
        Households per commune row; NaN (no count row) and 0 give no households.
    candidates : Candidates, optional
        Pixel centres or buildings; ``None``: every commune uses the fallback.

    Returns
    -------
    Spread

    Examples
    --------
    >>> square = shapely.box(0, 0, 1, 1)
    >>> communes = gpd.GeoDataFrame({"commune_code": ["1"]}, geometry=[square], crs=4326)
    >>> cands = Candidates(np.array([0.2, 0.7]), np.array([0.5, 0.5]),
    ...                    np.array([1.0, 3.0]), CRS.from_epsg(4326))
    >>> spread_counts(communes, np.array([8.0]), cands).points.weight.tolist()
    [2.0, 6.0]
    """
    n = len(communes)
    count = np.asarray(count, dtype=np.float64)
    if count.shape != (n,):
        raise ValueError(f"count has shape {count.shape}; expected ({n},)")
    wanted = np.isfinite(count) & (count > 0)
    x, y, w, idx = _spread_points(communes, count, wanted, candidates)
    placed = np.bincount(idx, minlength=n) > 0
    fallback = wanted & ~placed
    fx, fy = _fallback_points(communes, fallback)
    fidx = np.flatnonzero(fallback).astype(np.int64)
    points = HouseholdPoints(
        np.r_[x, fx], np.r_[y, fy], np.r_[w, count[fidx]], CRS(communes.crs)
    )
    return Spread(points, np.r_[idx, fidx].astype(np.int64), fallback)


def _spread_points(
    communes: gpd.GeoDataFrame,
    count: NDArray[np.float64],
    wanted: NDArray[np.bool_],
    candidates: Candidates | None,
) -> tuple[
    NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]
]:
    """The candidates with a positive value in a commune with a count, weighted."""
    empty = np.zeros(0, dtype=np.float64)
    if candidates is None or len(candidates.x) == 0:
        return empty, empty, empty, np.zeros(0, dtype=np.int64)
    value = np.asarray(candidates.value, dtype=np.float64)
    pts = HouseholdPoints(candidates.x, candidates.y, value, candidates.crs)
    commune = assign_communes(pts, communes).commune
    with np.errstate(invalid="ignore"):
        keep = (commune >= 0) & np.isfinite(value) & (value > 0)
    keep[keep] = wanted[commune[keep]]
    idx = commune[keep]
    v = value[keep]
    total = np.bincount(idx, weights=v, minlength=len(communes))
    weight = count[idx] * v / total[idx]
    x, y = pts.xy(CRS(communes.crs))
    return x[keep].copy(), y[keep].copy(), weight, idx.astype(np.int64)


def _fallback_points(
    communes: gpd.GeoDataFrame, fallback: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``point_on_surface`` of the communes with nothing to spread over."""
    geoms = np.asarray(communes.geometry.values, dtype=object)[fallback]
    if len(geoms) == 0:
        return np.zeros(0), np.zeros(0)
    coords = shapely.get_coordinates(shapely.point_on_surface(geoms))
    x, y = coords[:, 0].copy(), coords[:, 1].copy()
    # A fallback point inside an overlap with a smaller-coded commune would be
    # counted there by the household rule: say so rather than move it.
    pts = HouseholdPoints(x, y, np.ones(len(x)), CRS(communes.crs))
    landed = assign_communes(pts, communes).commune
    moved = int((landed != np.flatnonzero(fallback)).sum())
    if moved:
        warnings.warn(
            f"{moved} commune(s) without pixels or buildings have their point_on_surface "
            "inside an overlapping commune with a smaller code; their households are "
            "counted there",
            GeodxWarning,
            stacklevel=3,
        )
    return x, y


__all__ = [
    "Candidates",
    "CommuneCounts",
    "Estimate",
    "Spread",
    "match_counts",
    "spread_counts",
]
