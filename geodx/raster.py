"""Signal rasters: which pixel holds each point, and whether it reaches the threshold.

No file access here: adapters read the pixels and hand arrays over.
"""

from __future__ import annotations

import numpy as np
from affine import Affine
from numpy.typing import NDArray


def points_to_pixels(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    transform: Affine,
    *,
    width: int,
    height: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """Return ``(row, col, inside)`` of the pixel containing each point.

    ``col = floor(x')`` and ``row = floor(y')`` with ``(x', y')`` the inverse transform of ``(x, y)``;
    a point on a pixel edge belongs to the pixel to its right / below (larger index).

    Examples
    --------
    >>> from affine import Affine
    >>> t = Affine(10, 0, 0, 0, -10, 100)   # 10 m pixels, top-left at (0, 100)
    >>> r, c, ok = points_to_pixels(np.array([5.0, 10.0, -1.0]), np.array([95.0, 90.0, 95.0]),
    ...                             t, width=3, height=3)
    >>> r.tolist(), c.tolist(), ok.tolist()
    ([0, 1, -1], [0, 1, -1], [True, True, False])
    """
    inv = ~transform
    fx = inv.a * x + inv.b * y + inv.c
    fy = inv.d * x + inv.e * y + inv.f
    with np.errstate(invalid="ignore"):
        col = np.floor(fx)
        row = np.floor(fy)
        inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    col = np.where(inside, col, -1).astype(np.int64)
    row = np.where(inside, row, -1).astype(np.int64)
    return row, col, inside


def signal_reaches(
    values: NDArray[np.floating], *, nodata: float | None, min_value: float
) -> NDArray[np.bool_]:
    """Return whether each pixel value is valid and ``>= min_value``.

    Nodata and NaN are not covered.

    Examples
    --------
    >>> signal_reaches(np.array([-90.0, -110.0, -9999.0, np.nan]), nodata=-9999, min_value=-105)
    array([ True, False, False, False])
    """
    valid = (
        ~np.isnan(values)
        if np.issubdtype(values.dtype, np.floating)
        else np.ones(len(values), bool)
    )
    if nodata is not None and not np.isnan(nodata):
        valid &= values != nodata
    with np.errstate(invalid="ignore"):
        return valid & (values >= min_value)
