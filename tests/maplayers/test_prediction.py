"""A site layer's prediction raster: each pixel is the household prediction at its centre."""

from __future__ import annotations

import numpy as np
import rasterio
from pyproj import Transformer

from geodx.points import HouseholdPoints
from layers.sites import SiteLayer
from tests.operators.region import SITE_THRESHOLD
from tests.sites.naive import naive_rsrp

from .conftest import UTM, Drawn


def test_pixels_equal_the_per_household_prediction_at_their_centres(
    drawn: Drawn,
) -> None:
    entry = drawn.entry("viettel-4g")
    raster = entry["raster"]
    assert raster["crs"] == f"EPSG:{UTM.to_epsg()}"
    assert raster["floor_dbm"] == SITE_THRESHOLD - 10
    with rasterio.open(drawn.path(raster["file"])) as tif:
        assert tif.dtypes[0] == "float32" and np.isnan(tif.nodata)
        assert tif.crs.to_epsg() == UTM.to_epsg()
        assert tif.transform.a == raster["pixel_m"] == -tif.transform.e
        assert tif.transform.c % raster["pixel_m"] == 0  # origin on whole pixels
        assert tif.width * tif.height <= 1_000_000
        values = tif.read(1)
        transform = tif.transform
    rng = np.random.default_rng(3)
    valid = np.argwhere(np.isfinite(values))
    empty = np.argwhere(~np.isfinite(values))
    picks = np.vstack(
        [valid[rng.choice(len(valid), 150)], empty[rng.choice(len(empty), 50)]]
    )
    x, y = transform * (picks[:, 1] + 0.5, picks[:, 0] + 0.5)
    lon, lat = Transformer.from_crs(UTM, 4326, always_xy=True).transform(x, y)
    lon, lat = np.asarray(lon), np.asarray(lat)
    got = values[picks[:, 0], picks[:, 1]].astype(np.float64)
    naive = naive_rsrp(lon, lat, drawn.sectors, "suburban")
    shown = naive >= raster["floor_dbm"]
    near = np.abs(naive - raster["floor_dbm"]) < 1e-4  # float32 noise at the floor
    assert np.array_equal(np.isfinite(got)[~near], shown[~near])
    assert np.allclose(got[shown], naive[shown], atol=1e-3)  # float32
    # The per-household prediction of a household at those centres, as a run makes it.
    spec = next(s for s in drawn.manifest.layers if s.id == "viettel-4g")
    layer = SiteLayer.open(spec, metric_crs=UTM)
    households = HouseholdPoints(lon, lat, np.ones(len(lon)))
    per_household = layer.rsrp(households, margin_db=10.0)
    assert np.allclose(got[shown], per_household[shown], atol=1e-3)
    assert (per_household[~shown] < raster["floor_dbm"] + 1e-4).all()
