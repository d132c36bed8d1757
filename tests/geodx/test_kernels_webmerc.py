"""Web Mercator pixels by numpy's projection are PROJ's pixels, edges and all.

``geodx.kernels_webmerc.webmerc_pixels`` against ``points_to_pixels`` of PROJ's own
EPSG:3857 coordinates, on rasters whose pixel edges pass exactly through points'
PROJ coordinates (the ties numpy's coordinates could get wrong), flipped and rotated
transforms, points outside, towards the poles and NaN; and a GeoTIFF in EPSG:3857
read through ``layers.signal``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS, Transformer

from geodx.kernels_webmerc import WEBMERC_PIPELINE, webmerc_pixels
from geodx.manifest_specs import LayerSpec
from geodx.points import WGS84, HouseholdPoints
from geodx.raster import points_to_pixels
from layers.signal import SignalRaster

MERC = CRS.from_epsg(3857)
PROJ = Transformer.from_crs(WGS84, MERC, always_xy=True)
RNG = np.random.default_rng(3857)


def _points(n: int = 40_000) -> tuple[np.ndarray, np.ndarray]:
    lng = RNG.uniform(102.0, 110.0, n)
    lat = RNG.uniform(8.0, 24.0, n)
    lng[:4] = [180.0, -180.0, 0.0, 105.0]
    lat[:4] = [0.0, 79.9, 80.0, -80.0]
    lng[4:8], lat[4:8] = 105.0, [85.0, -89.0, np.nan, 81.0]  # PROJ's alone
    return lng, lat


def _exact(lng: np.ndarray, lat: np.ndarray):  # type: ignore[no-untyped-def]
    x, y = PROJ.transform(lng, lat)
    return np.asarray(x), np.asarray(y)


def _check(lng: np.ndarray, lat: np.ndarray, transform: Affine, size: int) -> None:
    x, y = _exact(lng, lat)
    want = points_to_pixels(x, y, transform, width=size, height=size)
    got = webmerc_pixels(
        lng,
        lat,
        transform,
        width=size,
        height=size,
        exact=lambda i: _exact(lng[i], lat[i]),
    )
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def _edges_through(lng: np.ndarray, lat: np.ndarray, pixel: float) -> Affine:
    """A north-up raster whose pixel edges pass through some points' coordinates."""
    x, y = _exact(lng[8:], lat[8:])
    return Affine(pixel, 0.0, float(x[0]), 0.0, -pixel, float(y[1]))


@pytest.mark.parametrize("pixel", [600.0, 25.0, 1e-3])
def test_pixels_with_edges_through_points(pixel: float) -> None:
    lng, lat = _points()
    t = _edges_through(lng, lat, pixel)
    # Many points exactly on a column or row edge: copies of the edge points shifted
    # by whole pixels in PROJ's metres are not easy to build, so repeat the two.
    lng = np.r_[lng, np.repeat(lng[8:10], 50)]
    lat = np.r_[lat, np.repeat(lat[8:10], 50)]
    _check(lng, lat, t, 4000)


@pytest.mark.parametrize(
    "transform",
    [
        Affine(-600.0, 0.0, 12_300_000.0, 0.0, 600.0, 900_000.0),  # flipped both ways
        Affine(500.0, 120.0, 11_300_000.0, -90.0, -500.0, 2_800_000.0),  # rotated
        Affine(600.0, 0.0, 11_365_256.89, 0.0, -600.0, 2_684_997.21),  # national
    ],
)
def test_pixels_of_other_transforms(transform: Affine) -> None:
    lng, lat = _points()
    _check(lng, lat, transform, 3000)


def test_points_on_the_computed_edges() -> None:
    # Points whose PROJ y is within a few units in the last place of an edge: the
    # band around numpy's value must send them to PROJ.
    lng, lat = _points(5000)
    x, y = _exact(lng, lat)
    t = Affine(600.0, 0.0, float(np.nanmin(x[8:]) - 600.0), 0.0, -600.0, 0.0)
    t = Affine(600.0, 0.0, t.c, 0.0, -600.0, float(y[100]))
    _check(lng, lat, t, 8000)
    # Every point on a row edge of its own: the raster's origin at its y.
    for i in range(8, 60):
        ti = Affine(600.0, 0.0, t.c, 0.0, -600.0, float(y[i]))
        _check(lng[i : i + 1], lat[i : i + 1], ti, 8000)
        ti = Affine(600.0, 0.0, float(x[i]), 0.0, -600.0, float(y[i]) + 600.0)
        _check(lng[i : i + 1], lat[i : i + 1], ti, 8000)


def test_the_pipeline_is_the_one_computed() -> None:
    assert PROJ.definition == WEBMERC_PIPELINE


def test_a_web_mercator_geotiff(tmp_path: Path) -> None:
    lng, lat = _points(20_000)
    ok = np.isfinite(lat) & (np.abs(lat) < 85)
    lng, lat = lng[ok], lat[ok]
    x, y = _exact(lng, lat)
    transform = Affine(600.0, 0.0, float(x[5]), 0.0, -600.0, float(y[6]))
    values = RNG.uniform(-130, -60, (400, 600)).astype("float32")
    path = tmp_path / "m.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=600, height=400, count=1, dtype="float32",
        crs="EPSG:3857", transform=transform, nodata=-9999.0,
    ) as ds:  # fmt: skip
        ds.write(values, 1)
    spec = LayerSpec(id="m", kind="mobile", technology="4G", path=path,
                     min_rsrp_dbm=-100)  # fmt: skip
    households = HouseholdPoints(lng, lat, np.ones(len(lng)))
    with SignalRaster.open(spec) as raster:
        got = raster.pixels(households)
        assert not households.has_xy(raster.crs)  # PROJ was not run on them all
        covered = raster.covers(households)
        want = points_to_pixels(x, y, transform, width=600, height=400)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
        households.xy(raster.crs)  # coordinates at hand: they are used as they are
        np.testing.assert_array_equal(raster.covers(households), covered)
    row, col, inside = want
    expect = np.zeros(len(lng), dtype=bool)
    expect[inside] = values[row[inside], col[inside]] >= -100
    np.testing.assert_array_equal(covered, expect)
    assert inside.sum() > 1000


@pytest.mark.parametrize(
    "coefficients",
    [(1 / 600, 0.0, 3.2), (1 / 500, 1 / 700, -7.1), (-1 / 600, 1 / 600, 5e3),
     (1 / 600, -1 / 650, 9.0), (-1 / 40, -1 / 45, 2e5), (0.0, -1 / 600, 6e3)],
)  # fmt: skip
def test_a_sure_index_holds_over_the_whole_box(
    coefficients: tuple[float, float, float],
) -> None:
    from geodx.kernels_webmerc import MARGIN_M, _index_of_box

    a, b, c = coefficients
    x = RNG.uniform(1e6, 3e6, 20_000)
    y = RNG.uniform(1e6, 3e6, 20_000)
    # Half the points within a few margins of an edge, on either side.
    near = np.arange(0, 20_000, 2)
    value = a * x[near] + b * y[near] + c
    shift = (
        np.round(value)
        - value
        + RNG.uniform(-3, 3, len(near)) * MARGIN_M * (abs(a) + abs(b))
    )
    if a:
        x[near] += shift / a
    else:
        y[near] += shift / b
    index, sure = _index_of_box(x, y, a, b, c, 10**9)
    steps = (-1.0, -0.5, 0.0, 0.5, 1.0)
    for sx in steps:
        for sy in steps:
            at = np.floor(a * (x + sx * MARGIN_M) + b * (y + sy * MARGIN_M) + c)
            at = np.clip(at, -1, 10**9)  # the index is clipped to the raster and -1
            np.testing.assert_array_equal(at[sure], index[sure])
    assert 0.2 < sure[near].mean() < 0.9  # ties seen on both sides
