"""The region's UTM zone without the database scan equals geopandas' estimate."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import CRS
from pyproj.database import query_utm_crs_info

from geodx.points import WGS84
from geodx.utm_zone import estimate_utm_crs, zone_of_centre


def geopandas_estimate(x: float, y: float) -> CRS:
    """The plain rule: geopandas' estimate for a box centred on (x, y)."""
    import geopandas as gpd

    box = shapely.box(x - 0.25, y - 0.25, x + 0.25, y + 0.25)
    return gpd.GeoSeries([box], crs=WGS84).estimate_utm_crs()


def test_the_database_holds_the_zones_the_shortcut_reads() -> None:
    """Every WGS 84 UTM zone is EPSG 326zz/327zz, and no area of use reaches past
    its neighbours: the zones the shortcut reads are the only ones that can meet."""
    zones = query_utm_crs_info(datum_name="WGS 84")
    codes = sorted(int(z.code) for z in zones)
    assert codes == [*range(32601, 32661), *range(32701, 32761)]
    for z in zones:
        n = int(z.code) % 100
        area = z.area_of_use
        assert area is not None
        west, east = -180 + 6 * (n - 1), -180 + 6 * n
        assert west - 6 < area.west <= west and east <= area.east < east + 6, z.code


POINTS = [
    (108.5, 12.7),  # Đắk Lắk
    (105.8, 21.0),  # Hà Nội
    (108.0, 12.7),  # a zone edge: two zones, geopandas chooses
    (-12.005, 40.0),  # inside 29N's widened area of use only
    (-12.0, 40.0),
    (3.0, 0.0),  # the equator: north and south
    (3.0, -33.0),
    (179.9, 50.0),
    (-179.9, -50.0),
    (10.0, 84.005),  # beyond 84 N: 84.01 for zone 29N only
    (10.0, 60.0),
]


@pytest.mark.parametrize(("x", "y"), POINTS)
def test_the_same_zone_as_geopandas(x: float, y: float) -> None:
    geoms = np.array([shapely.box(x - 0.25, y - 0.25, x + 0.25, y + 0.25)])
    try:
        expected = geopandas_estimate(x, y)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            estimate_utm_crs(geoms)
        return
    got = estimate_utm_crs(geoms)
    assert got == expected
    assert got.to_wkt() == expected.to_wkt()


def test_random_centres_match_geopandas() -> None:
    rng = np.random.default_rng(9)
    for x, y in zip(rng.uniform(-180, 180, 4), rng.uniform(-80, 84, 4), strict=True):
        assert estimate_utm_crs(np.array([shapely.Point(x, y)])) == geopandas_estimate(
            float(x), float(y)
        )


def test_edges_and_empty_input_are_left_to_geopandas() -> None:
    assert zone_of_centre(108.0, 12.7) is None  # zones 48N and 49N meet there
    assert zone_of_centre(3.0, 0.0) is None  # 31N and 31S
    assert zone_of_centre(float("nan"), 0.0) is None
    with pytest.raises(ValueError, match="NaN"):  # geopandas' own error, as before
        estimate_utm_crs(np.array([shapely.Point()]))
