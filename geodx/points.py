"""Household points: positions, weights, and their coordinates in any CRS."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from geodx.overlay import GridIndex, build_grid

WGS84 = CRS.from_epsg(4326)
# Index cells of about 500 m: large enough to keep the cell count low, small enough
# for most cells to lie wholly inside or outside a commune or coverage polygon.
GRID_CELL_DEG = 0.005
GRID_CELL_M = 500.0


@dataclass
class HouseholdPoints:
    """Households as points, in their own CRS, with a weight each.

    Coordinates are transformed straight from the source CRS into each CRS asked
    for (``always_xy``, as ``GeoDataFrame.to_crs`` does) and cached.

    Attributes
    ----------
    x, y : ndarray of float64
        Coordinates in ``crs``.
    weight : ndarray of float64
        Households at each point (1 for a single household).
    crs : pyproj.CRS
        The CRS of ``x`` and ``y``.
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    weight: NDArray[np.float64]
    crs: CRS = WGS84
    _cache: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = field(
        default_factory=dict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _grids: dict[tuple[str, float], GridIndex] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.x)

    def xy(self, crs: CRS) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the coordinates in ``crs``."""
        if crs == self.crs:
            return self.x, self.y
        key = crs.to_wkt()
        with self._lock:
            if key not in self._cache:
                # A Transformer is not shared between threads: one per call.
                transformer = Transformer.from_crs(self.crs, crs, always_xy=True)
                tx, ty = transformer.transform(self.x, self.y)
                self._cache[key] = (
                    np.asarray(tx, dtype=np.float64),
                    np.asarray(ty, dtype=np.float64),
                )
            return self._cache[key]

    def grid(self, crs: CRS, *, cell_size: float) -> GridIndex:
        """The points in ``crs`` grouped by a square grid of ``cell_size`` (cached).

        Communes and layers in the same CRS share one grid.
        """
        key = (crs.to_wkt(), cell_size)
        with self._lock:
            cached = self._grids.get(key)
        if cached is not None:
            return cached
        x, y = self.xy(crs)
        grid = build_grid(x, y, cell_size=cell_size)
        with self._lock:
            return self._grids.setdefault(key, grid)

    @property
    def lng_lat(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """WGS84 longitude and latitude."""
        return self.xy(WGS84)

    def grid_cell(self, crs: CRS) -> float:
        """The index cell size for ``crs``: 0.005 degree or 500 m."""
        return GRID_CELL_DEG if crs.is_geographic else GRID_CELL_M

    @property
    def integral(self) -> bool:
        """Whether every weight is a whole number (counts are then exact integers)."""
        return bool(np.all(np.mod(self.weight, 1) == 0))
