"""Household points: positions, weights, and their coordinates in any CRS."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from geodx.overlay import GridIndex, build_grid

WGS84 = CRS.from_epsg(4326)
# Index cells of about 500 m: large enough to keep the cell count low, small enough
# for most cells to lie wholly inside or outside a commune or coverage polygon.
GRID_CELL_DEG = 0.005
GRID_CELL_M = 500.0


def crs_key(crs: CRS) -> Hashable:
    """One cache key per CRS, however its file wrote it.

    The same CRS arrives as different WKT strings (a GeoPackage's WKT1, an EPSG code, a
    shapefile's ``.prj``): one whose definition is exactly an EPSG code's (confidence
    100) is keyed by that code, so its coordinates are transformed and cached once.

    >>> a = CRS.from_epsg(32649)
    >>> crs_key(CRS.from_wkt(a.to_wkt("WKT1_GDAL"))) == crs_key(a)
    True
    """
    code = crs.to_epsg(min_confidence=100)
    return ("epsg", code) if code is not None else ("wkt", crs.to_wkt())


_THREAD = threading.local()


def _transformer(source: CRS, target: CRS) -> Transformer:
    """The calling thread's transformer from ``source`` to ``target`` (``always_xy``).

    Built once per thread and CRS pair (a Transformer is not shared between threads):
    building one costs far more than a small batch of points (a partition's).
    """
    cache: dict[Hashable, Transformer] | None = getattr(_THREAD, "transformers", None)
    if cache is None:
        cache = _THREAD.transformers = {}
    key = (crs_key(source), crs_key(target))
    got = cache.get(key)
    if got is None:
        got = cache[key] = Transformer.from_crs(source, target, always_xy=True)
    return got


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
    _cache: dict[Hashable, Any] = field(default_factory=dict, repr=False)
    _locks: dict[Hashable, threading.Lock] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        # One x, y and weight per household: a reader that dropped a row (an empty
        # point has no coordinates) must fail here, not as an IndexError later.
        sizes = {len(self.x), len(self.y), len(self.weight)}
        if len(sizes) != 1:
            raise ValueError(
                f"x, y and weight differ in length: {len(self.x)}, {len(self.y)}, "
                f"{len(self.weight)}"
            )

    def __len__(self) -> int:
        return len(self.x)

    def _cached(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """Compute ``make()`` once per key; threads asking for the same key wait."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]

    def xy(self, crs: CRS) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the coordinates in ``crs`` (transformed once, then cached)."""
        if crs == self.crs:
            return self.x, self.y

        def transform() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            tx, ty = _transformer(self.crs, crs).transform(self.x, self.y)
            return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)

        result: tuple[NDArray[np.float64], NDArray[np.float64]]
        result = self._cached(("xy", crs_key(crs)), transform)
        return result

    def xy_at(
        self, crs: CRS, index: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The coordinates in ``crs`` of the points ``index`` alone (not cached).

        PROJ transforms each point by itself: the values of ``xy(crs)`` at ``index``.
        """
        if crs == self.crs:
            return self.x[index], self.y[index]
        tx, ty = _transformer(self.crs, crs).transform(self.x[index], self.y[index])
        return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)

    def has_xy(self, crs: CRS) -> bool:
        """Whether the coordinates in ``crs`` are at hand (own CRS, or cached)."""
        return crs == self.crs or ("xy", crs_key(crs)) in self._cache

    def pipeline_to(self, crs: CRS) -> str:
        """PROJ's definition of the transformation to ``crs`` (``always_xy``)."""
        return str(_transformer(self.crs, crs).definition)

    def grid(self, crs: CRS, *, cell_size: float) -> GridIndex:
        """The points in ``crs`` grouped by a square grid of ``cell_size`` (cached).

        Communes and layers in the same CRS share one grid.
        """

        def build() -> GridIndex:
            x, y = self.xy(crs)
            return build_grid(x, y, cell_size=cell_size)

        grid: GridIndex = self._cached(("grid", crs_key(crs), cell_size), build)
        return grid

    @property
    def lng_lat(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """WGS84 longitude and latitude."""
        return self.xy(WGS84)

    def grid_cell(self, crs: CRS) -> float:
        """The index cell size for ``crs``: 0.005 degree or 500 m."""
        return GRID_CELL_DEG if crs.is_geographic else GRID_CELL_M

    @property
    def integral(self) -> bool:
        """Whether every weight is a whole number (counts are then exact integers).

        ``trunc(w) == w`` holds exactly for the finite whole numbers (inf and nan are
        not), as ``w % 1 == 0`` does, in one cheaper pass.
        """
        w = self.weight
        return bool(np.isfinite(w).all() and (np.trunc(w) == w).all())
