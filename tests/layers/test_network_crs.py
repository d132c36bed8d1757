"""Network distances are ground metres (issue 6 D9): checked against geodesics.

A fibre layer in Web Mercator (EPSG:3857) measured in its own metres reached only
244 m on the ground for 250 m at 12.6 N. The oracle here is the geodesic distance on
the WGS84 ellipsoid (``pyproj.Geod``), independent of every projection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import CRS, Geod, Transformer

from geodx.manifest_specs import LayerSpec
from geodx.points import HouseholdPoints
from layers.vector import NetworkReach

GEOD = Geod(ellps="WGS84")
WGS84 = CRS.from_epsg(4326)
UTM_49N = CRS.from_epsg(32649)
MERCATOR = CRS.from_epsg(3857)
LAT = 12.6
# Ground distances either side of 250 m; the region's UTM zone is within 0.1 % (0.25 m).
NEAR = np.array([245.0, 247.0, 249.0])
FAR = np.array([251.0, 253.0, 256.0])


def _spec() -> LayerSpec:
    return LayerSpec(
        id="fibre", kind="fibre", path=Path("f.fgb"), service_distance_m=250
    )


def _to(crs: CRS, lng: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = Transformer.from_crs(WGS84, crs, always_xy=True).transform(lng, lat)
    return np.asarray(x), np.asarray(y)


def test_a_web_mercator_line_reaches_250_m_on_the_ground() -> None:
    # The parallel 12.6 N from 108.00 to 108.10 E, a straight line in Web Mercator,
    # drawn with a vertex every 0.001 deg so that it stays the parallel in any CRS.
    lng = np.linspace(108.0, 108.1, 101)
    mx, my = _to(MERCATOR, lng, np.full(lng.size, LAT))
    line = shapely.LineString(np.c_[mx, my])
    # Households due north and south of the line: the nearest point of a parallel is
    # on the same meridian, so the geodesic distance is along it.
    at = np.array([108.02, 108.05, 108.08])
    lons, lats, ground = [], [], []
    for lng0 in at:
        for dist in np.r_[NEAR, FAR]:
            for azimuth in (0.0, 180.0):
                lon, lat, _ = GEOD.fwd(lng0, LAT, azimuth, dist)
                lons.append(lon)
                lats.append(lat)
                ground.append(GEOD.inv(lng0, LAT, lon, lat)[2])
    hh = HouseholdPoints(np.array(lons), np.array(lats), np.ones(len(lons)))
    layer = NetworkReach(
        _spec(), np.array([line]), MERCATOR, source="lines", metric_crs=UTM_49N
    )
    got = layer.covers(hh)
    assert (got == (np.array(ground) <= 250.0)).all()
    assert layer.distance_crs(hh) == UTM_49N


def test_a_web_mercator_point_reaches_250_m_on_the_ground() -> None:
    site = (108.05, LAT)
    mx, my = _to(MERCATOR, np.array([site[0]]), np.array([site[1]]))
    lons, lats, ground = [], [], []
    for azimuth in range(0, 360, 30):
        for dist in np.r_[NEAR, FAR]:
            lon, lat, _ = GEOD.fwd(*site, azimuth, dist)
            lons.append(lon)
            lats.append(lat)
            ground.append(dist)
    hh = HouseholdPoints(np.array(lons), np.array(lats), np.ones(len(lons)))
    layer = NetworkReach(
        _spec(),
        np.array([shapely.Point(mx[0], my[0])]),
        MERCATOR,
        source="points",
        metric_crs=UTM_49N,
    )
    assert (layer.covers(hh) == (np.array(ground) <= 250.0)).all()


VN2000_TM3_DAK_LAK = CRS.from_proj4(
    "+proj=tmerc +lat_0=0 +lon_0=108.5 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
    "+towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,"
    "0.00427372,0.252906278 +units=m +no_defs"
)


@pytest.mark.parametrize(
    ("crs", "centre", "kept"),
    [
        (UTM_49N, (108.5, 12.7), True),  # 2.5 deg off the central meridian: 0.07 %
        (CRS.from_epsg(3405), (108.04, 12.6), True),  # VN-2000 / UTM 48N: 0.095 %
        (VN2000_TM3_DAK_LAK, (108.2, 12.7), True),
        (CRS.from_epsg(32648), (110.5, 12.7), False),  # 5.5 deg off: 0.4 %
        (MERCATOR, (108.05, 12.6), False),  # 2.5 %
        (MERCATOR, (105.8, 21.0), False),  # 7 %
        (WGS84, (108.05, 12.6), False),
        (CRS.from_epsg(4756), (108.05, 12.6), False),  # VN-2000 geographic
    ],
)
def test_the_layer_crs_is_kept_only_when_true_to_scale_near_the_households(
    crs: CRS, centre: tuple[float, float], kept: bool
) -> None:
    lng = centre[0] + np.array([-0.3, 0.3, 0.0])
    lat = centre[1] + np.array([-0.2, 0.2, 0.1])
    hh = HouseholdPoints(lng, lat, np.ones(3))
    x, y = _to(crs, lng, lat)
    layer = NetworkReach(
        _spec(),
        shapely.points(x, y),
        crs,
        source="points",
        metric_crs=UTM_49N,
    )
    assert (layer.distance_crs(hh) == crs) is kept
