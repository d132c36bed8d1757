"""A world of inputs as GDAL means them (issue 6 D8, D9).

``build_gdal``: a fibre network in Web Mercator whose 250 m must be 250 m on the ground
(households placed by geodesic distance), a Byte RSRP raster with offset -140 and an
internal mask whose masked pixels hold values that would pass the threshold, and a
Byte raster whose alpha band hides pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import rasterio
import shapely
from affine import Affine
from rasterio.enums import ColorInterp

from .files import box, to_crs, write_manifest, write_table, write_vector
from .worlds import Points, World

GEOD = pyproj.Geod(ellps="WGS84")
LAT = 12.62  # the Mercator line runs along this parallel
X0, Y0 = (
    180_000.0,
    1_401_000.0,
)  # EPSG:32649 corner of the rasters, near 108.05 E 12.66 N


def _communes(folder: Path) -> Path:
    geoms = [box(108.0 + 0.03 * i, 12.6 + 0.03 * j, 108.03 + 0.03 * i, 12.63 + 0.03 * j)
             for j in range(2) for i in range(2)]  # fmt: skip
    codes = ["24301", "24302", "24303", "24304"]
    names = ["Xã Ea Nuôl", "Xã Cuôr Knia", "Xã Ea Bar", "Xã Tân Hòa"]
    return write_vector(
        folder / "xa.geojson", geoms, 4326, commune_code=codes, commune_name=names
    )


def _mercator_line(folder: Path, pts: Points) -> None:
    """The parallel 12.62 N as a Web Mercator polyline; households 245-255 m from it."""
    lng = np.linspace(108.0, 108.06, 61)
    mx, my = to_crs(lng, np.full(lng.size, LAT), 4326, 3857)
    write_vector(
        folder / "cap_quang.geojson", [shapely.LineString(np.c_[mx, my])], 3857
    )
    for lng0 in (108.012, 108.031, 108.047):
        for dist in (245.0, 248.0, 252.0, 255.0):
            for azimuth in (0.0, 180.0):
                lon, lat, _ = GEOD.fwd(lng0, LAT, azimuth, dist)
                why = f"{dist:g} m on the ground from a Web Mercator line"
                pts.add(lon, lat, 1, why, layer_cap_quang=dist <= 250.0)


def _byte_raster(path: Path, raw: np.ndarray, *, mask: np.ndarray | None = None,
                 alpha: np.ndarray | None = None) -> Path:  # fmt: skip
    count = 1 if alpha is None else 2
    profile = {
        "driver": "GTiff", "height": raw.shape[0], "width": raw.shape[1],
        "count": count, "dtype": "uint8", "crs": "EPSG:32649",
        "transform": Affine(200, 0, X0 - 2000, 0, -200, Y0 + 2000),
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(raw, 1)
        if alpha is not None:
            dst.write(alpha.astype("uint8"), 2)
            dst.colorinterp = [ColorInterp.gray, ColorInterp.alpha]
        if mask is not None:
            dst.write_mask(np.where(mask, 255, 0).astype("uint8"))
        dst.scales = (1.0,) * count
        dst.offsets = (-140.0,) * count
    return path


def _rasters(folder: Path, rng: np.random.Generator, pts: Points) -> None:
    shape = (40, 45)
    raw = rng.integers(20, 60, shape).astype("uint8")  # -120 .. -81 dBm
    valid = rng.random(shape) > 0.25
    raw[~valid] = 130  # -10 dBm, out of range, behind the mask
    _byte_raster(folder / "4g_mask.tif", raw, mask=valid)
    raw2 = rng.integers(20, 60, shape).astype("uint8")
    alpha = np.where(rng.random(shape) > 0.3, 255, 0)
    raw2[alpha == 0] = 100  # -40 dBm: covered if alpha were ignored
    _byte_raster(folder / "5g_alpha.tif", raw2, alpha=alpha)
    # Households at pixel centres, with what the arrays say about them.
    for _ in range(60):
        row, col = int(rng.integers(0, shape[0])), int(rng.integers(0, shape[1]))
        x = X0 - 2000 + 200 * (col + 0.5)
        y = Y0 + 2000 - 200 * (row + 0.5)
        lon, lat = to_crs([x], [y], 32649, 4326)
        pts.add(
            lon[0], lat[0], 1, f"pixel ({row}, {col})",
            layer_4g_mask=bool(valid[row, col] and int(raw[row, col]) - 140 >= -105),
            layer_5g_alpha=bool(alpha[row, col] and int(raw2[row, col]) - 140 >= -105),
        )  # fmt: skip


def build_gdal(folder: Path) -> World:
    """Two rasters with masks and scale/offset, a network in Web Mercator."""
    rng = np.random.default_rng(31)
    communes = _communes(folder)
    pts = Points()
    _mercator_line(folder, pts)
    _rasters(folder, rng, pts)
    for lon, lat in rng.uniform([107.995, 12.595], [108.065, 12.665], size=(150, 2)):
        pts.add(lon, lat, int(rng.integers(1, 4)))
    write_table(folder / "ho.csv", {"lon": pts.x, "lat": pts.y, "ho": pts.w})
    manifest = write_manifest(
        folder,
        {
            "region": {"name": "Vùng GDAL (tổng hợp)", "h3_resolution": 9},
            "communes": {"path": communes.name},
            "households": {"path": "ho.csv", "weight": "ho"},
            "layers": [
                {"id": "cap-quang", "kind": "fibre", "path": "cap_quang.geojson",
                 "service_distance_m": 250},
                {"id": "4g-mask", "kind": "mobile", "technology": "4G",
                 "path": "4g_mask.tif"},
                {"id": "5g-alpha", "kind": "mobile", "technology": "5G",
                 "path": "5g_alpha.tif"},
            ],
        },
    )  # fmt: skip
    return World("gdal", manifest, household_facts=pts.facts)
