"""Vector layers held small for point lookups: each answer from the features near it.

A :class:`app.live.LiveRegion` kept every layer as the run's adapter: the national
fibre areas, routes and splitters held 305 MB a worker as GEOS geometries with their
indexes and pieces. :class:`NearLayer` keeps each feature as WKB with its bounds (in
the layer's CRS and in the region's UTM zone: 30 MB for those three), the WKB of a
layer packed in one buffer (:class:`PackedWKB`: no Python object per feature, which
held 20 MB more over the national 220,000 features) and, per lookup,
gives the run's own adapter (:class:`layers.vector.ServedArea` or
:class:`layers.vector.NetworkReach`) only the features whose bounds reach the point,
so every answer is the one the whole layer gives:

- covered: a polygon holding the point, or a line or point within the service
  distance, has its bounds within that distance of the point (boxes compared
  inclusively, with a little more room): those features are all given;
- distance to the nearest feature: a feature is never nearer than its box. The
  features with the nearest boxes give a distance ``d``; then every feature whose
  box is no farther than ``d`` is given: the nearest of the whole layer is among
  them, so their nearest distance is the layer's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from geodx.crs import reproject
from geodx.points import HouseholdPoints
from layers.vector import NearestFeature, NetworkReach, ServedArea

if TYPE_CHECKING:
    from geodx.manifest_specs import LayerSpec

#: The nearest feature is first sought among this many, nearest by their boxes.
FIRST_NEAREST = 32

__all__ = ["NearLayer", "PackedWKB", "boxes_near", "held_small"]


class PackedWKB:
    """Geometries as WKB in one buffer, each found by its start and end offsets.

    ``shapely.to_wkb`` of each geometry, joined; :meth:`geoms` reads back those asked
    for with ``shapely.from_wkb``: the geometries a WKB round trip gives (a missing
    geometry stays None).

    >>> packed = PackedWKB(np.asarray([shapely.Point(1, 2), None,
    ...                                shapely.LineString([(0, 0), (3, 4)])]))
    >>> len(packed), [None if g is None else g.wkt for g in packed.geoms([2, 1, 0])]
    (3, ['LINESTRING (0 0, 3 4)', None, 'POINT (1 2)'])
    """

    def __init__(self, geoms: np.ndarray) -> None:
        wkb = shapely.to_wkb(geoms)
        sizes = np.asarray([0 if w is None else len(w) for w in wkb], dtype=np.int64)
        self.ends = np.cumsum(sizes)  # a WKB is never empty: 0 bytes is None
        self.starts = self.ends - sizes
        self.buffer = b"".join(w for w in wkb if w is not None)

    def __len__(self) -> int:
        return len(self.ends)

    def geoms(self, rows: NDArray[np.intp] | list[int]) -> np.ndarray:
        """The geometries of ``rows``, in that order."""
        at = np.asarray(rows, dtype=np.intp)
        spans = zip(self.starts[at].tolist(), self.ends[at].tolist(), strict=True)
        buf = self.buffer
        wkb = np.asarray([buf[a:b] if b > a else None for a, b in spans], dtype=object)
        return np.asarray(shapely.from_wkb(wkb), dtype=object)


def _slack(r: float) -> float:
    """Room added to a box so rounding never leaves a reaching feature out."""
    return 1e-6 * max(1.0, abs(r))


def boxes_near(
    bounds: NDArray[np.float64], x: float, y: float, r: float
) -> NDArray[np.intp]:
    """Rows of ``bounds`` (minx, miny, maxx, maxy) meeting the square ``x, y`` ± ``r``."""
    r = r + _slack(r) + _slack(x) + _slack(y)
    hit = (bounds[:, 0] <= x + r) & (bounds[:, 2] >= x - r)
    hit &= (bounds[:, 1] <= y + r) & (bounds[:, 3] >= y - r)
    return np.flatnonzero(hit)


class NearLayer:
    """A vector layer as WKB and bounds, answering with the adapter of nearby features.

    Parameters
    ----------
    adapter : ServedArea or NetworkReach
        The layer as the run opened it; its geometries are kept as WKB, not it.
    metric_crs : pyproj.CRS
        The region's UTM zone (distances, and a network's reach where its CRS is not
        true to scale).
    """

    def __init__(self, adapter: ServedArea | NetworkReach, *, metric_crs: CRS) -> None:
        self.spec: LayerSpec = adapter.spec
        self.crs: CRS = adapter.crs
        self.metric_crs = metric_crs
        self.source: str = adapter.source
        self.reach_m: float = adapter.reach_m
        self.polygons = isinstance(adapter, ServedArea)
        geoms = np.asarray(adapter.geoms, dtype=object)
        self.wkb = PackedWKB(geoms)
        self.bounds = np.asarray(shapely.bounds(geoms), dtype=np.float64)
        # In the UTM zone too, moved as the run's adapters move the whole layer
        # (geodx.crs.reproject, vertex by vertex): the same coordinates, whether the
        # whole layer or a lookup's few features are moved. Only their boxes are kept
        # (the national fibre areas' moved WKB held 23 MB a worker).
        moved = reproject(geoms, self.crs, metric_crs)
        self.metric_bounds = np.asarray(shapely.bounds(moved), dtype=np.float64)
        # reproject's transformation, its transformer built once (a lookup moves a
        # few features several times); used under the live region's lock
        self._to_metric = (
            Transformer.from_crs(self.crs, metric_crs, always_xy=True)
            if moved is not geoms
            else None
        )

    def _geoms(self, rows: NDArray[np.intp], *, metric: bool) -> np.ndarray:
        found = self.wkb.geoms(rows)
        if not metric or self._to_metric is None:
            return found
        # geodx.crs.reproject of these features, vertex by vertex: every vertex was
        # moved once already with the whole layer, so all are finite
        coords = shapely.get_coordinates(found)
        x, y = self._to_metric.transform(coords[:, 0], coords[:, 1])
        moved = shapely.set_coordinates(found.copy(), np.column_stack([x, y]))
        return np.asarray(moved, dtype=object)

    def _network(self, rows: NDArray[np.intp], *, metric: bool) -> NetworkReach:
        crs = self.metric_crs if metric else self.crs
        return NetworkReach(
            self.spec, self._geoms(rows, metric=metric), crs, source=self.source,
            metric_crs=self.metric_crs,
        )  # fmt: skip

    def covers(self, households: HouseholdPoints) -> NDArray[np.bool_]:
        """Whether each household is covered, as the whole layer answers."""
        out = np.zeros(len(households), dtype=bool)
        for i in range(len(households)):
            out[i] = bool(self._covers_one(_one(households, i))[0])
        return out

    def _covers_one(self, point: HouseholdPoints) -> NDArray[np.bool_]:
        if self.polygons:  # inside a polygon, in the layer's own CRS
            x, y = point.xy(self.crs)
            rows = boxes_near(self.bounds, float(x[0]), float(y[0]), 0.0)
            return ServedArea(
                self.spec, self._geoms(rows, metric=False), self.crs
            ).covers(point)
        # within reach, in the CRS the run measures this point in: the layer's own,
        # else the UTM zone (where the adapter measures the layer moved there)
        crs = self._network(np.arange(0), metric=False).distance_crs(point)
        metric = crs is self.metric_crs
        x, y = point.xy(self.metric_crs if metric else self.crs)
        bounds = self.metric_bounds if metric else self.bounds
        rows = boxes_near(bounds, float(x[0]), float(y[0]), self.reach_m)
        return self._network(rows, metric=metric).covers(point)

    def distances_m(
        self, households: HouseholdPoints, *, metric_crs: CRS
    ) -> NDArray[np.float64]:
        """Ground metres (in ``metric_crs``, the region's) to the nearest feature."""
        if metric_crs != self.metric_crs:
            raise ValueError("a held layer measures in the region's own metric CRS")
        out = np.full(len(households), np.inf)
        for i in range(len(households)):
            out[i] = self._distance_one(_one(households, i))
        return out

    def _distance_one(self, point: HouseholdPoints) -> float:
        if not len(self.wkb):
            return float("inf")
        x, y = (float(v[0]) for v in point.xy(self.metric_crs))
        low = _box_distance(self.metric_bounds, x, y)  # never more than the distance
        first = np.arange(len(low))
        if len(low) > FIRST_NEAREST:  # any of the nearest boxes will do
            first = np.argpartition(low, FIRST_NEAREST)[:FIRST_NEAREST]
        nearest = self._distance_among(first, point)
        # Every feature that could be nearer: its box no farther than that distance.
        rows = np.flatnonzero(low <= nearest + _slack(nearest) + _slack(x) + _slack(y))
        return self._distance_among(rows, point)

    def _distance_among(self, rows: NDArray[np.intp], point: HouseholdPoints) -> float:
        # the adapters' own index (layers.vector.NearestFeature), of the moved features
        crs = self.metric_crs
        index = NearestFeature(self._geoms(rows, metric=True), crs, crs)
        return float(index.distances_m(point)[0])


def _box_distance(
    bounds: NDArray[np.float64], x: float, y: float
) -> NDArray[np.float64]:
    """Distance from ``x, y`` to each box (0 inside): at most the distance to its shape."""
    dx = np.maximum(np.maximum(bounds[:, 0] - x, x - bounds[:, 2]), 0.0)
    dy = np.maximum(np.maximum(bounds[:, 1] - y, y - bounds[:, 3]), 0.0)
    return np.asarray(np.hypot(dx, dy), dtype=np.float64)


def _one(households: HouseholdPoints, i: int) -> HouseholdPoints:
    """Household ``i`` alone (the household itself when it is the only one)."""
    if len(households) == 1:
        return households
    at = slice(i, i + 1)
    return HouseholdPoints(
        households.x[at], households.y[at], households.weight[at], households.crs
    )


def held_small(adapter: object, *, metric_crs: CRS) -> NearLayer | None:
    """A :class:`NearLayer` of the run's vector adapter; None for other layers."""
    if type(adapter) in (ServedArea, NetworkReach):
        assert isinstance(adapter, ServedArea | NetworkReach)
        return NearLayer(adapter, metric_crs=metric_crs)
    return None
