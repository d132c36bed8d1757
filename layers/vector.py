"""Vector coverage layers: served areas (polygons) and networks (lines, points)."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from geodx.crs import SCALE_TOLERANCE, measures_ground, reproject
from geodx.errors import GeometryError
from geodx.io import read_vector, repair_geometries
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest import LayerSpec
from geodx.overlay import covered_by_polygons, within_distance
from geodx.points import HouseholdPoints

# Geometry type ids (GEOS): families a layer file may hold.
_FAMILIES = {
    0: "points",
    4: "points",
    1: "lines",
    5: "lines",
    3: "polygons",
    6: "polygons",
}


def read_layer_geometries(
    spec: LayerSpec, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[np.ndarray, CRS, str]:
    """Read a vector layer: its geometries, CRS and family (polygons, lines or points).

    Raises
    ------
    InputFileError, CRSError, GeometryError
    """
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

    def covers(self, households: HouseholdPoints) -> NDArray[np.bool_]:
        """Return whether each household is inside a served-area polygon."""
        x, y = households.xy(self.crs)
        grid = households.grid(self.crs, cell_size=households.grid_cell(self.crs))
        return covered_by_polygons(x, y, self.geoms, grid=grid)


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
        cell = households.grid_cell(crs)
        return within_distance(
            x,
            y,
            geoms,
            distance=self.spec.service_distance_m,
            cell_size=cell,
            grid=households.grid(crs, cell_size=cell),
        )


def open_vector_layer(
    spec: LayerSpec, *, metric_crs: CRS, limits: Limits = DEFAULT_LIMITS
) -> ServedArea | NetworkReach:
    """Read a vector layer file and return the adapter for its geometry family."""
    geoms, crs, family = read_layer_geometries(spec, limits=limits)
    if family == "polygons":
        return ServedArea(spec, geoms, crs)
    return NetworkReach(spec, geoms, crs, source=family, metric_crs=metric_crs)
