"""The raster pixel of WGS84 points in a Web Mercator raster, without PROJ for most.

PROJ turns longitude and latitude into Web Mercator (EPSG:3857) metres as
``x = a lng_rad`` and ``y = a asinh(tan(lat_rad))`` with ``a = 6378137``; that costs
half a partition's raster time. numpy's ``a log(tan(pi/4 + lat_rad/2))``, the same
function, agrees with PROJ's to a few units in the last place: across 3 million
national households at most 2.3e-9 m apart in ``y`` and identical in ``x``. A pixel
needs no more than the interval: each point's own ``x``, ``y`` are taken as
somewhere within :data:`MARGIN_M` (a millimetre, five orders of magnitude more) of
numpy's, and the pixel index ``floor(inv.a x + inv.b y + inv.c)`` (and its row
twin) is computed, with the very expression of :func:`geodx.raster.points_to_pixels`,
at both ends of that box. Every floating-point operation in it is correctly rounded,
so it is monotone in ``x`` and in ``y`` (increasing or decreasing with the sign of
the coefficient): when the two ends give one pixel, every point of the box, PROJ's
coordinates among them, gives that pixel. Points whose ends differ (within a
millimetre of a pixel edge: about one in 300,000 for 600 m pixels), and any outside
``|lat| <= 80``, are transformed by PROJ itself and placed as before.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from affine import Affine
from numpy.typing import NDArray

from geodx.raster import points_to_pixels

#: PROJ's pipeline from EPSG:4326 (``always_xy``) to EPSG:3857: the one computed here.
WEBMERC_PIPELINE = (
    "proj=pipeline step proj=unitconvert xy_in=deg xy_out=rad "
    "step proj=webmerc lat_0=0 lon_0=0 x_0=0 y_0=0 ellps=WGS84"
)
#: How far numpy's coordinates may be taken to be from PROJ's, in metres.
MARGIN_M = 1e-3
# Latitudes beyond this go to PROJ (y grows without bound towards the poles).
_MOST_LAT = 80.0
_A = 6378137.0

Exact = Callable[[NDArray[np.int64]], tuple[NDArray[np.float64], NDArray[np.float64]]]


def webmerc_pixels(
    lng: NDArray[np.float64],
    lat: NDArray[np.float64],
    transform: Affine,
    *,
    width: int,
    height: int,
    exact: Exact,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """``points_to_pixels`` of the points' Web Mercator coordinates, to the pixel.

    Parameters
    ----------
    lng, lat : ndarray of float64
        WGS84 degrees.
    transform : Affine
        The raster's, in EPSG:3857 metres.
    width, height : int
        Raster size in pixels.
    exact : callable
        ``exact(index)``: PROJ's EPSG:3857 ``x, y`` of the points ``index``.

    Returns
    -------
    row, col, inside
        As :func:`geodx.raster.points_to_pixels` gives them from PROJ's coordinates.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        usable = (np.abs(lat) <= _MOST_LAT) & (np.abs(lng) <= 180.0)
        rad = np.pi / 180.0
        x = lng * rad
        x *= _A
        y = lat * (rad / 2.0)
        y += np.pi / 4.0
        np.tan(y, out=y)
        np.log(y, out=y)
        y *= _A
    inv = ~transform
    col, col_sure = _index_of_box(x, y, inv.a, inv.b, inv.c, width)
    row, row_sure = _index_of_box(x, y, inv.d, inv.e, inv.f, height)
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    col[~inside] = -1
    row[~inside] = -1
    unsure = np.flatnonzero(~(usable & col_sure & row_sure))
    if len(unsure):
        ex, ey = exact(unsure)
        r, c, ok = points_to_pixels(ex, ey, transform, width=width, height=height)
        row[unsure], col[unsure], inside[unsure] = r, c, ok
    return row, col, inside


def _index_of_box(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    a: float,
    b: float,
    c: float,
    size: int,
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """``floor(a x + b y + c)`` over the box ``x, y +- MARGIN_M``, and where it is one.

    The expression's operations are correctly rounded, hence monotone: its least and
    greatest values over the box are at the corners the coefficients' signs pick.
    PROJ's coordinate lies within 1e-8 m of ``x`` (``y``), so between the rounded
    ``x - MARGIN_M`` and ``x + MARGIN_M``, whose rounding moves them by less than
    1e-9 m: inside the box.
    """
    sx = MARGIN_M if a >= 0 else -MARGIN_M
    sy = MARGIN_M if b >= 0 else -MARGIN_M
    with np.errstate(invalid="ignore"):
        low = np.floor(a * (x - sx) + b * (y - sy) + c)
        high = np.floor(a * (x + sx) + b * (y + sy) + c)
        sure = low == high
        # Clipped before the cast: outside the raster any index will do.
        index = np.clip(low, -1, size).astype(np.int64)
    return index, sure
