"""A region's UTM zone: geopandas' ``estimate_utm_crs``, without its database scan.

``GeoSeries.estimate_utm_crs`` asks PROJ for every EPSG projected CRS whose area of use
meets the centre of the bounds (~0.12 s: thousands of CRSs listed, then filtered by
name to the WGS 84 UTM zones) and takes the first. The WGS 84 UTM zones are EPSG
326zz (north) and 327zz (south), zz = 1..60, each a 6-degree box; so the candidates
are the zone under the centre and its neighbours, and their areas of use are read
from the same database one CRS at a time. When exactly one of them meets the centre,
it is geopandas' answer (a one-element list has no order); on a zone's edge, at the
equator, or anywhere unusual, geopandas itself is asked.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from geodx.points import WGS84

#: EPSG code bases of the WGS 84 UTM zones, north and south.
NORTH, SOUTH = 32600, 32700
ZONES = 60


def _candidates(x: float) -> list[int]:
    """EPSG codes of the zones at and beside longitude ``x``, both hemispheres.

    >>> _candidates(108.5)
    [32648, 32649, 32650, 32748, 32749, 32750]
    """
    zone = math.floor((x + 180.0) / 6.0) + 1
    zones = sorted({(z - 1) % ZONES + 1 for z in (zone - 1, zone, zone + 1)})
    return [base + z for base in (NORTH, SOUTH) for z in zones]


def _meets(crs: CRS, x: float, y: float) -> bool:
    """Whether ``crs``'s area of use meets the point (edges included, as PROJ's test)."""
    area = crs.area_of_use
    if area is None:
        return False
    return bool(area.west <= x <= area.east and area.south <= y <= area.north)


def zone_of_centre(x: float, y: float) -> CRS | None:
    """The one WGS 84 UTM zone whose area of use meets (x, y), or None (none, several).

    >>> zone_of_centre(108.5, 12.7).to_epsg(), zone_of_centre(108.0, 12.7)
    (32649, None)
    """
    if not (math.isfinite(x) and math.isfinite(y)) or not -180.0 <= x <= 180.0:
        return None
    found = [crs for code in _candidates(x) if _meets(crs := CRS.from_epsg(code), x, y)]
    return found[0] if len(found) == 1 else None


def estimate_utm_crs(geoms_wgs84: np.ndarray) -> CRS:
    """``GeoSeries(geoms_wgs84, crs=WGS84).estimate_utm_crs()``, the same CRS.

    Raises
    ------
    RuntimeError
        As geopandas does, when no UTM zone meets the centre.
    """
    minx, miny, maxx, maxy = shapely.total_bounds(geoms_wgs84).tolist()
    # geopandas' centre of a geographic CRS's bounds, the same floating-point steps
    x = float(np.mean([minx, maxx]))
    y = float(np.mean([miny, maxy]))
    found = zone_of_centre(x, y)
    if found is not None:
        return found
    estimated: CRS = gpd.GeoSeries(geoms_wgs84, crs=WGS84).estimate_utm_crs()
    return estimated
