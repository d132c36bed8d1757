"""Coordinate reference systems: moving geometries between them, telling ground metres apart."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Proj, Transformer
from pyproj.exceptions import CRSError as ProjCRSError
from pyproj.exceptions import ProjError

from geodx.errors import CRSError

# A CRS measures ground distances near a place when its scale there is within 0.1 % of
# true: UTM zones (at most 0.04 % at the central meridian, about 0.1 % 3 degrees off
# it) and VN-2000 TM-3 zones (0.01 %) are; Web Mercator (2.5 % at 12.6 N, 7 % at
# 21 N) and geographic CRSs are not.
SCALE_TOLERANCE = 0.001


def reproject(geoms: np.ndarray, source: CRS, target: CRS) -> np.ndarray:
    """Geometries moved vertex by vertex from ``source`` to ``target`` (``always_xy``).

    The same transformation ``GeoDataFrame.to_crs`` applies.

    Raises
    ------
    CRSError
        When a vertex cannot be transformed.
    """
    if CRS(source) == CRS(target):
        return geoms
    transformer = Transformer.from_crs(source, target, always_xy=True)
    coords = shapely.get_coordinates(geoms)
    x, y = transformer.transform(coords[:, 0], coords[:, 1])
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise CRSError(
            f"geometries cannot be transformed from {CRS(source).name} to {CRS(target).name}"
        )
    moved = shapely.set_coordinates(
        np.array(geoms, dtype=object), np.column_stack([x, y])
    )
    return np.asarray(moved, dtype=object)


def is_metric(crs: CRS) -> bool:
    """Whether ``crs`` is projected with metre units."""
    if not crs.is_projected:
        return False
    unit = crs.axis_info[0].unit_name.lower() if crs.axis_info else ""
    return unit in {"metre", "meter", "m"}


def scale_error(crs: CRS, *, lng: float, lat: float) -> float:
    """Largest relative scale error of ``crs`` at a WGS84 point (``inf`` if unknown).

    The larger of ``|h - 1|`` and ``|k - 1|``, the meridional and parallel scale
    factors PROJ gives (``pyproj.Proj(crs).get_factors``); a datum shift of a few
    hundred metres between WGS84 and the CRS's own datum does not change them.

    Examples
    --------
    >>> round(scale_error(CRS.from_epsg(3857), lng=108.0, lat=12.6), 4)
    0.0247
    >>> scale_error(CRS.from_epsg(32649), lng=108.5, lat=12.6) < SCALE_TOLERANCE
    True
    """
    if not crs.is_projected:
        return float("inf")
    try:
        factors = Proj(crs).get_factors(lng, lat)
    except (ProjCRSError, ProjError):  # PROJ cannot say: not true to scale
        return float("inf")
    error = max(abs(factors.meridional_scale - 1), abs(factors.parallel_scale - 1))
    return float(error) if np.isfinite(error) else float("inf")


def measures_ground(
    crs: CRS, *, lng: float, lat: float, tolerance: float = SCALE_TOLERANCE
) -> bool:
    """Whether distances in ``crs`` are ground metres near ``(lng, lat)``.

    True for a projected CRS in metres whose :func:`scale_error` there is at most
    ``tolerance``.

    Examples
    --------
    >>> measures_ground(CRS.from_epsg(3857), lng=108.0, lat=12.6)
    False
    >>> measures_ground(CRS.from_epsg(4326), lng=108.0, lat=12.6)
    False
    >>> measures_ground(CRS.from_epsg(32649), lng=108.5, lat=12.6)
    True
    """
    return is_metric(crs) and scale_error(crs, lng=lng, lat=lat) <= tolerance
