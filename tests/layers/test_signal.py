"""Raster layers: the pixel containing the household decides; nodata and outside are not covered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.transform import from_origin

from geodx.manifest_specs import LayerSpec
from geodx.points import HouseholdPoints
from layers.signal import SignalRaster


def _raster(
    path: Path, values: np.ndarray, *, crs: str, transform, nodata=-9999.0
) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as ds:
        ds.write(values.astype("float32"), 1)
    return path


def test_pixel_rules_in_a_projected_raster(tmp_path: Path) -> None:
    values = np.array([[-90, -110, -9999], [np.nan, -105, -104.9]], dtype=float)
    path = _raster(
        tmp_path / "r.tif",
        values,
        crs="EPSG:32649",
        transform=from_origin(800_000, 1_400_100, 100, 100),
    )
    spec = LayerSpec(
        id="t", kind="mobile", technology="4G", path=path, min_rsrp_dbm=-105
    )
    # Points in UTM 49N: centre of each pixel, a pixel edge, and one outside.
    x = np.array(
        [800_050, 800_150, 800_250, 800_050, 800_150, 800_250, 800_100, 799_999.0]
    )
    y = np.array(
        [
            1_400_050,
            1_400_050,
            1_400_050,
            1_399_950,
            1_399_950,
            1_399_950,
            1_400_000,
            1_400_050.0,
        ]
    )
    hh = HouseholdPoints(x, y, np.ones(len(x)), CRS.from_epsg(32649))
    got = SignalRaster.open(spec).covers(hh)
    # (800100, 1400000) lies on the corner of four pixels: it belongs to row 1, col 1 (-105).
    assert got.tolist() == [True, False, False, False, True, True, True, False]


def test_households_in_wgs84_against_projected_raster(tmp_path: Path) -> None:
    values = np.full((50, 50), -80.0)
    values[:, 25:] = -120
    path = _raster(
        tmp_path / "r.tif",
        values,
        crs="EPSG:32649",
        transform=from_origin(800_000, 1_405_000, 100, 100),
    )
    spec = LayerSpec(id="t", kind="mobile", technology="4G", path=path)
    rng = np.random.default_rng(0)
    from pyproj import Transformer

    x = rng.uniform(799_000, 806_000, 300)
    y = rng.uniform(1_399_000, 1_406_000, 300)
    lon, lat = Transformer.from_crs(32649, 4326, always_xy=True).transform(x, y)
    got = SignalRaster.open(spec).covers(
        HouseholdPoints(np.asarray(lon), np.asarray(lat), np.ones(300))
    )
    with rasterio.open(path) as ds:
        back_x, back_y = Transformer.from_crs(4326, 32649, always_xy=True).transform(
            lon, lat
        )
        rows, cols = rasterio.transform.rowcol(ds.transform, back_x, back_y)
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < 50) & (cols >= 0) & (cols < 50)
        expected = np.zeros(300, bool)
        expected[inside] = values[rows[inside], cols[inside]] >= -105
    assert (got == expected).all()
    assert 0 < got.sum() < inside.sum()
