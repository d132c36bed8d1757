"""The same CRS written two ways is transformed and cached once."""

from __future__ import annotations

import numpy as np
from pyproj import CRS

from geodx.points import HouseholdPoints


def test_one_transform_for_one_crs_in_two_spellings() -> None:
    hh = HouseholdPoints(np.array([108.0, 108.1]), np.array([12.6, 12.7]), np.ones(2))
    epsg = CRS.from_epsg(32649)
    gdal_wkt = CRS.from_wkt(epsg.to_wkt("WKT1_GDAL"))
    assert epsg.to_wkt() != gdal_wkt.to_wkt()
    x1, y1 = hh.xy(epsg)
    x2, y2 = hh.xy(gdal_wkt)
    assert x1 is x2 and y1 is y2
    assert sum(1 for key in hh._cache if key[0] == "xy") == 1


def test_a_crs_without_an_exact_epsg_code_keeps_its_own_entry() -> None:
    hh = HouseholdPoints(np.array([108.0]), np.array([12.6]), np.ones(1))
    # UTM 49N but for a false easting 1 m larger: no EPSG code matches it exactly
    shifted = CRS.from_proj4(
        "+proj=tmerc +lon_0=111 +k=0.9996 +x_0=500001 +datum=WGS84 +units=m"
    )
    x_shifted, _ = hh.xy(shifted)
    x_utm, _ = hh.xy(CRS.from_epsg(32649))
    assert abs(x_shifted[0] - x_utm[0] - 1.0) < 1e-6
    assert sum(1 for key in hh._cache if key[0] == "xy") == 2
