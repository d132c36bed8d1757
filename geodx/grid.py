"""H3 helpers: points to cells (vectorised), cell indexes to strings and polygons."""

from __future__ import annotations

import h3
import numpy as np
import polars as pl
import polars_h3 as plh3
from numpy.typing import NDArray

from geodx.errors import InvalidResolution


def check_resolution(resolution: int) -> None:
    """Raise :class:`InvalidResolution` unless ``0 <= resolution <= 15``."""
    if not isinstance(resolution, int) or not 0 <= resolution <= 15:
        raise InvalidResolution(f"resolution was {resolution}; expected 0-15")


def points_to_cells(
    lat: NDArray[np.float64], lng: NDArray[np.float64], *, resolution: int
) -> NDArray[np.uint64]:
    """H3 cell (as uint64) of each point, the same as ``h3.latlng_to_cell``.

    Examples
    --------
    >>> c = points_to_cells(np.array([12.6667]), np.array([108.05]), resolution=9)
    >>> cells_to_str(c)[0] == h3.latlng_to_cell(12.6667, 108.05, 9)
    True
    """
    check_resolution(resolution)
    if len(lat) == 0:
        return np.zeros(0, dtype=np.uint64)
    frame = pl.DataFrame({"lat": lat, "lng": lng})
    cells = frame.select(plh3.latlng_to_cell("lat", "lng", resolution)).to_series()
    return cells.to_numpy().astype(np.uint64, copy=False)


def cells_to_str(cells: NDArray[np.uint64]) -> list[str]:
    """H3 indexes as hexadecimal strings."""
    return [h3.int_to_str(int(c)) for c in cells]
