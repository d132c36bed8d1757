"""Layers answer at ``value + delta >= min_rsrp_dbm`` from one read, exactly.

A raster with scale/offset and nodata against its pixels read back by rasterio, and a
site layer against the literal DESIGN.md formula (``tests.sites.naive``): the +3 dB
answer must be exact down to ``min_rsrp_dbm - 3``, below the layer's own floor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.transform import from_origin

from geodx.manifest_specs import LayerSpec
from geodx.points import WGS84, HouseholdPoints
from layers.base import answer
from layers.signal import SignalRaster
from layers.sites import SiteLayer
from tests.sites.naive import (
    UTM_EPSG,
    naive_rsrp,
    random_households,
    random_sectors,
    write_sectors,
)

DELTAS = (-3.0, 3.0)


def test_raster_answers_at_each_shift(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 60, (20, 30)).astype(np.int16)  # RSRP = raw - 130
    raw[rng.random(raw.shape) < 0.1] = -1  # nodata
    path = tmp_path / "r.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=30, height=20, count=1, dtype="int16",
        crs="EPSG:32649", transform=from_origin(800_000, 1_402_000, 100, 100),
        nodata=-1,
    ) as ds:  # fmt: skip
        ds.write(raw, 1)
        ds.scales, ds.offsets = (1.0,), (-130.0,)
    spec = LayerSpec(
        id="r", kind="mobile", technology="4G", path=path, min_rsrp_dbm=-105
    )
    row, col = rng.integers(0, 20, 500), rng.integers(0, 30, 500)
    x = 800_000 + 100 * col + rng.uniform(1, 99, 500)
    y = 1_402_000 - 100 * row - rng.uniform(1, 99, 500)
    x[:5] = 799_000.0  # outside the raster: never covered
    hh = HouseholdPoints(x, y, np.ones(500), CRS.from_epsg(UTM_EPSG))
    got = answer(SignalRaster.open(spec), hh, DELTAS)
    for delta in (0.0, *DELTAS):
        want = [
            i >= 5 and raw[r, c] != -1 and raw[r, c] - 130.0 + delta >= -105
            for i, (r, c) in enumerate(zip(row, col, strict=True))
        ]
        mask = got.covered if delta == 0.0 else got.shifted[delta]
        assert mask.tolist() == want, delta
    assert got.indoor is None
    assert got.shifted[-3.0].sum() < got.covered.sum() < got.shifted[3.0].sum()


def test_site_layer_answers_at_each_shift_and_indoors(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    sectors = random_sectors(rng, 20)
    path = write_sectors(tmp_path / "s.csv", sectors)
    spec = LayerSpec(
        id="s", kind="mobile", technology="4G", path=path, min_rsrp_dbm=-108.0,
        model="cost231-hata", environment="rural", indoor_loss_db=7.0,
    )  # fmt: skip
    layer = SiteLayer.open(spec, metric_crs=CRS.from_epsg(UTM_EPSG))
    lon, lat = random_households(rng, 600)
    rsrp = naive_rsrp(lon, lat, sectors, "rural")
    keep = np.all(
        [np.abs(rsrp - c) > 1e-6 for c in (-111.0, -108.0, -105.0, -101.0)], axis=0
    )
    lon, lat, rsrp = lon[keep], lat[keep], rsrp[keep]
    got = answer(layer, HouseholdPoints(lon, lat, np.ones(len(lon)), WGS84), DELTAS)
    assert got.covered.tolist() == (rsrp >= -108.0).tolist()
    for delta in DELTAS:
        assert got.shifted[delta].tolist() == (rsrp + delta >= -108.0).tolist()
    assert got.indoor is not None
    assert got.indoor.tolist() == (rsrp - 7.0 >= -108.0).tolist()
    # Households only the +3 dB answer covers exist (the floor was lowered for them).
    assert ((rsrp >= -111.0) & (rsrp < -108.0)).sum() > 0


def test_a_polygon_layer_answers_the_same_at_every_shift() -> None:
    class Polygons:
        spec = None
        source = "polygons"

        def covers(self, households: HouseholdPoints) -> np.ndarray:
            return np.array([True, False])[: len(households)]

    hh = HouseholdPoints(np.zeros(2), np.zeros(2), np.ones(2), WGS84)
    got = answer(Polygons(), hh, DELTAS)  # type: ignore[arg-type]
    assert got.covered.tolist() == [True, False]
    assert all(got.shifted[d].tolist() == [True, False] for d in DELTAS)
    assert got.indoor is None
