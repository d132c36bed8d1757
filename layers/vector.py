"""Vector coverage layers: served areas (polygons) and networks (lines, points)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from geodx.crs import SCALE_TOLERANCE, measures_ground, reproject
from geodx.errors import GeometryError
from geodx.io import read_vector, repair_geometries
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import LayerSpec
from geodx.nearest import least_gap
from geodx.nearest_joint import JointPieces, joint_pieces
from geodx.nearest_pieces import cut_pieces, single_parts
from geodx.overlay import covered_by_polygons
from geodx.points import HouseholdPoints
from geodx.reach import within_distance

#: Up to this many households, a layer answers point by point against a spatial index
#: kept between calls (a point lookup); more, with the grid and the buffers of a run.
#: Both give the GEOS predicate's answer (``intersects_xy``, ``dwithin``).
FEW_POINTS = 64


class NearestFeature:
    """Ground distance from points to the nearest of some features, in one metric CRS.

    The features are reprojected once and indexed (``shapely.STRtree``). Lines are split
    into short pieces, so the index stays sharp and the distance is the same number as
    the distance to the whole line; a polygon is its boundary's pieces plus an inside
    test (distance 0 inside, boundary included), which is the distance to the polygon.
    """

    def __init__(self, geoms: np.ndarray, crs: CRS, metric_crs: CRS) -> None:
        moved = geoms if crs == metric_crs else reproject(geoms, crs, metric_crs)
        parts = single_parts(np.asarray(moved, dtype=object))
        areas = np.isin(shapely.get_type_id(parts), (3, 6))
        self.metric_crs = metric_crs
        self.areas = np.asarray(parts[areas], dtype=object)
        edges = shapely.get_parts(shapely.boundary(self.areas))
        self.geoms = cut_pieces(np.r_[parts[~areas], edges].astype(object))
        self.tree = shapely.STRtree(self.geoms)
        shapely.prepare(self.areas)
        self.area_tree = shapely.STRtree(self.areas)

    def distances_m(self, households: HouseholdPoints) -> NDArray[np.float64]:
        """Metres from each household to the nearest feature (inf without features)."""
        out = np.full(len(households), np.inf)
        if len(self.geoms) == 0 or len(households) == 0:
            return out
        x, y = households.xy(self.metric_crs)
        points = shapely.points(x, y)
        (point, _), dist = self.tree.query_nearest(
            points, return_distance=True, all_matches=False
        )
        out[point] = dist
        if len(self.areas):
            inside, _ = self.area_tree.query(points, predicate="intersects")
            out[inside] = 0.0
        return out


# Geometry type ids (GEOS): families a layer file may hold.
_FAMILIES = {
    0: "points",
    4: "points",
    1: "lines",
    5: "lines",
    3: "polygons",
    6: "polygons",
}


_KEPT: dict[tuple[Any, ...], tuple[np.ndarray, CRS, str]] = {}
_KEEPING = [0]  # open :func:`reads_kept` blocks
_KEPT_LOCK = threading.Lock()


@contextmanager
def reads_kept() -> Iterator[None]:
    """While open, a layer file asked for again (unchanged) is not read again.

    A run reads each vector layer to answer and again to draw it for the maps; inside
    this block the second read returns the first one's geometries (the same arrays:
    readers copy before they change them). The file's size, modification time and
    inode are in the key, so a file changed in between is read again; everything kept
    is dropped when the last block closes.
    """
    with _KEPT_LOCK:
        _KEEPING[0] += 1
    try:
        yield
    finally:
        with _KEPT_LOCK:
            _KEEPING[0] -= 1
            if _KEEPING[0] == 0:
                _KEPT.clear()


def _read_key(spec: LayerSpec, limits: Limits) -> tuple[Any, ...] | None:
    try:
        stat = Path(spec.path).stat()
    except OSError:
        return None  # the reader says what is wrong
    return (
        str(Path(spec.path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino,
        spec.layer, spec.id, limits,
    )  # fmt: skip


def read_layer_geometries(
    spec: LayerSpec, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[np.ndarray, CRS, str]:
    """Read a vector layer: its geometries, CRS and family (polygons, lines or points).

    Inside :func:`reads_kept`, a file already read is not read again.

    Raises
    ------
    InputFileError, CRSError, GeometryError
    """
    key = _read_key(spec, limits) if _KEEPING[0] else None
    if key is not None:
        with _KEPT_LOCK:
            kept = _KEPT.get(key)
        if kept is not None:
            return kept
    got = _read_layer_geometries(spec, limits=limits)
    if key is not None:
        with _KEPT_LOCK:
            if _KEEPING[0]:
                _KEPT[key] = got
    return got


def _read_layer_geometries(
    spec: LayerSpec, *, limits: Limits
) -> tuple[np.ndarray, CRS, str]:
    frame = read_vector(
        spec.path,
        layer=spec.layer,
        columns=[],
        role=f"layer '{spec.id}'",
        limits=limits,
    )
    geoms = np.asarray(frame.geometry.values, dtype=object)
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    families = {
        _FAMILIES.get(int(t), "other") for t in np.unique(shapely.get_type_id(geoms))
    }
    if "other" in families or len(families) > 1:
        found = ", ".join(sorted(np.unique(shapely.get_type_id(geoms).astype(str))))
        raise GeometryError(
            f"{spec.path}: layer '{spec.id}' must hold only polygons, only lines or only "
            f"points (GEOS type ids found: {found})"
        )
    family = families.pop() if families else "polygons"
    if family == "polygons":
        geoms = repair_geometries(geoms, path=spec.path, role=f"layer '{spec.id}'")
    return geoms, CRS(frame.crs), family


class ServedArea:
    """Households inside (or on the edge of) any polygon of the layer are covered."""

    source = "polygons"

    def __init__(self, spec: LayerSpec, geoms: np.ndarray, crs: CRS) -> None:
        self.spec, self.geoms, self.crs = spec, geoms, crs
        self._tree: shapely.STRtree | None = None
        self._nearest: dict[int, NearestFeature] = {}

    #: The reach a plan subtracts from the distance: a polygon serves its inside only.
    reach_m = 0.0

    def covers(self, households: HouseholdPoints) -> NDArray[np.bool_]:
        """Return whether each household is inside a served-area polygon."""
        x, y = households.xy(self.crs)
        if len(households) <= FEW_POINTS:
            return self._covers_few(x, y)
        grid = households.grid(self.crs, cell_size=households.grid_cell(self.crs))
        return covered_by_polygons(x, y, self.geoms, grid=grid)

    def _covers_few(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> NDArray[np.bool_]:
        if self._tree is None:
            shapely.prepare(self.geoms)
            self._tree = shapely.STRtree(self.geoms)
        out = np.zeros(len(x), dtype=bool)
        hit, _ = self._tree.query(shapely.points(x, y), predicate="intersects")
        out[hit] = True
        return out

    def nearest_index(self, metric_crs: CRS) -> NearestFeature:
        """The polygons indexed for distances in ``metric_crs`` (built once)."""
        return _nearest(self._nearest, self.geoms, self.crs, metric_crs)

    def distances_m(
        self, households: HouseholdPoints, *, metric_crs: CRS
    ) -> NDArray[np.float64]:
        """Ground metres (in ``metric_crs``) to the nearest polygon; 0 inside one."""
        return self.nearest_index(metric_crs).distances_m(households)


class NetworkReach:
    """Households within ``service_distance_m`` of any line or point are covered.

    Distances are ground metres: measured in the layer's own CRS when it is projected
    in metres and true to scale (within ``SCALE_TOLERANCE``, 0.1 %) at the centre of
    the households' WGS84 bounding box, otherwise in the region's UTM zone
    ``metric_crs`` (geographic CRSs, Web Mercator, a far-away zone).
    """

    def __init__(
        self,
        spec: LayerSpec,
        geoms: np.ndarray,
        crs: CRS,
        *,
        source: str,
        metric_crs: CRS,
    ) -> None:
        self.spec, self.source = spec, source
        self.geoms, self.crs, self.metric_crs = geoms, crs, metric_crs
        self._moved: np.ndarray | None = None
        self._nearest: dict[int, NearestFeature] = {}
        self.reach_m = float(spec.service_distance_m)

    def distance_crs(self, households: HouseholdPoints) -> CRS:
        """The CRS distances to the households are measured in (see the class)."""
        if len(households) == 0:
            return self.crs
        lng, lat = households.lng_lat
        centre_lng = (float(lng.min()) + float(lng.max())) / 2
        centre_lat = (float(lat.min()) + float(lat.max())) / 2
        if measures_ground(
            self.crs, lng=centre_lng, lat=centre_lat, tolerance=SCALE_TOLERANCE
        ):
            return self.crs
        return self.metric_crs

    def covers(self, households: HouseholdPoints) -> NDArray[np.bool_]:
        """Return whether each household is within the service distance."""
        crs = self.distance_crs(households)
        geoms = self.geoms
        if crs != self.crs:
            if self._moved is None:
                self._moved = reproject(self.geoms, self.crs, crs)
            geoms = self._moved
        x, y = households.xy(crs)
        if len(households) <= FEW_POINTS:
            return self._covers_few(x, y, crs, geoms)
        cell = households.grid_cell(crs)
        return within_distance(
            x,
            y,
            geoms,
            distance=self.spec.service_distance_m,
            cell_size=cell,
            grid=households.grid(crs, cell_size=cell),
        )

    def _covers_few(
        self,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        crs: CRS,
        geoms: np.ndarray,
    ) -> NDArray[np.bool_]:
        index = _nearest(self._nearest, geoms, crs, crs)
        out = np.zeros(len(x), dtype=bool)
        if len(index.geoms):
            hit, _ = index.tree.query(
                shapely.points(x, y),
                predicate="dwithin",
                distance=self.spec.service_distance_m,
            )
            out[hit] = True
        return out

    def nearest_index(self, metric_crs: CRS) -> NearestFeature:
        """The lines or points indexed for distances in ``metric_crs`` (built once)."""
        return _nearest(self._nearest, self.geoms, self.crs, metric_crs)

    def distances_m(
        self, households: HouseholdPoints, *, metric_crs: CRS
    ) -> NDArray[np.float64]:
        """Ground metres (in ``metric_crs``) to the nearest line or point."""
        return self.nearest_index(metric_crs).distances_m(households)


def _nearest(
    cache: dict[int, NearestFeature], geoms: np.ndarray, crs: CRS, metric_crs: CRS
) -> NearestFeature:
    """The index of ``geoms`` in ``metric_crs``, built once per CRS object.

    Keyed by the object (the adapters pass the same one each time): a lookup spends
    no time spelling the CRS out.
    """
    index = cache.get(id(metric_crs))
    if index is None or index.metric_crs is not metric_crs:
        index = cache[id(metric_crs)] = NearestFeature(geoms, crs, metric_crs)
    return index


#: From this many households on, a nearest search runs in two threads, half each
#: (GEOS releases the GIL; each household's answer is its own).
HALVES_FROM = 20_000
_HALVES: list[ThreadPoolExecutor] = []


def _in_halves(
    ask: Callable[[int, int], tuple[np.ndarray, ...]], n: int
) -> tuple[np.ndarray, ...]:
    """``ask(0, n)``, or its two halves' arrays joined (the second in this thread)."""
    if n < HALVES_FROM:
        return ask(0, n)
    if not _HALVES:
        _HALVES.append(ThreadPoolExecutor(1, thread_name_prefix="geodx-nearest"))
    first = _HALVES[0].submit(ask, 0, n // 2)
    second = ask(n // 2, n)
    return tuple(
        np.concatenate(pair) for pair in zip(first.result(), second, strict=True)
    )


def nearest_extension_m(
    layers: Sequence[ServedArea | NetworkReach],
    households: HouseholdPoints,
    *,
    metric_crs: CRS,
) -> NDArray[np.float64]:
    """``max(0, min over layers of (distance - reach))`` per household.

    The same number as :func:`geodx.plan.extension_m` of each layer's
    ``distances_m`` (polygons reach 0): the least ``d - reach`` over every layer's
    pieces at once (:func:`geodx.nearest.least_gap`), 0 inside a polygon. inf when no
    layer has a feature.
    """
    out = np.full(len(households), np.inf)
    indexes, joint = _joint(layers, metric_crs)
    geoms, reach, tree = joint.geoms, joint.reach, joint.tree
    if len(households) == 0 or len(geoms) == 0:
        return out
    x, y = households.xy(metric_crs)
    points = shapely.points(x, y)

    def half(lo: int, hi: int) -> tuple[np.ndarray]:
        cut = slice(lo, hi)
        return (least_gap(x[cut], y[cut], geoms, reach, tree=tree, points=points[cut]),)

    (out,) = _in_halves(half, len(x))
    for index in indexes:
        if not len(index.areas):
            continue
        inside, _ = index.area_tree.query(points, predicate="intersects")
        out[inside] = np.minimum(out[inside], 0.0)
    floored: NDArray[np.float64] = np.maximum(out, 0.0)
    return floored


def warm_nearest(
    layers: Sequence[ServedArea | NetworkReach], *, metric_crs: CRS
) -> None:
    """Build what :func:`nearest_extension_m` measures ``layers`` with, ahead of use.

    Called before a process forks its workers, the workers share one copy (built
    once) instead of each building its own for its first partition.
    """
    _joint(layers, metric_crs)


def _joint(
    layers: Sequence[ServedArea | NetworkReach], metric_crs: CRS
) -> tuple[list[NearestFeature], JointPieces]:
    """Each layer's index in ``metric_crs`` and their pieces joined (both kept)."""
    indexes = [layer.nearest_index(metric_crs) for layer in layers]
    joint = joint_pieces(
        indexes, [i.geoms for i in indexes], [layer.reach_m for layer in layers]
    )
    return indexes, joint


def open_vector_layer(
    spec: LayerSpec, *, metric_crs: CRS, limits: Limits = DEFAULT_LIMITS
) -> ServedArea | NetworkReach:
    """Read a vector layer file and return the adapter for its geometry family."""
    geoms, crs, family = read_layer_geometries(spec, limits=limits)
    if family == "polygons":
        return ServedArea(spec, geoms, crs)
    return NetworkReach(spec, geoms, crs, source=family, metric_crs=metric_crs)
