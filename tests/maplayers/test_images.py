"""RSRP images: a pixel covered in the source is opaque at its place after warping.

The expected Web Mercator pixel is computed here with pyproj alone: the source pixel's
centre to EPSG:3857, then its column and row in the PNG from the index's WGS84 corners.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin

from geodx.manifest import load_manifest
from layers.mapdraw import write_map_layers

from .conftest import UTM, Drawn

THRESHOLD = -105.0
# (CRS, pixel size, origin) of the source rasters: WGS84 and the region's UTM zone.
SOURCES = {
    "wgs84": ("EPSG:4326", 0.001, (107.99, 12.69)),
    "utm": (f"EPSG:{UTM.to_epsg()}", 100.0, (173_000.0, 1_404_700.0)),
}
BLOCK = (20, 30)  # row, column of the covered 3 x 3 block's centre
SIZE = 80


def read_png(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, driver="PNG") as png:
            assert png.count == 4
            return np.moveaxis(png.read(), 0, -1)


def _raster_region(
    folder: Path, base: Path, crs: str, pixel: float, origin: tuple[float, float]
) -> Path:
    values = np.full((SIZE, SIZE), -9999.0, dtype=np.float32)
    r, c = BLOCK
    values[r - 1 : r + 2, c - 1 : c + 2] = -90.0  # class [T+10, T+20)
    values[60:70, 60:70] = -120.0  # below T-10: transparent
    with rasterio.open(
        folder / "rsrp.tif", "w", driver="GTiff", width=SIZE, height=SIZE, count=1,
        dtype="float32", crs=crs, nodata=-9999.0,
        transform=from_origin(*origin, pixel, pixel),
    ) as dst:  # fmt: skip
        dst.write(values, 1)
    text = (base / "region.toml").read_text(encoding="utf-8").split("[[layers]]")[0]
    text = text.replace('path = "', f'path = "{base}/')
    text += '[[layers]]\nid = "rsrp"\nkind = "mobile"\ntechnology = "4G"\npath = "rsrp.tif"\n'
    (folder / "region.toml").write_text(text, encoding="utf-8")
    return folder / "region.toml"


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_covered_pixel_is_opaque_at_its_web_mercator_place(
    drawn: Drawn, tmp_path: Path, source: str
) -> None:
    crs, pixel, origin = SOURCES[source]
    spec = load_manifest(
        _raster_region(tmp_path, drawn.manifest.root, crs, pixel, origin)
    )
    out = tmp_path / "out"
    out.mkdir()
    (entry,) = write_map_layers(out, spec, region_bounds=drawn.bounds, metric_crs=UTM)[
        "layers"
    ]
    rgba = read_png(out / "layers" / entry["file"])
    assert rgba.shape == (entry["height"], entry["width"], 4)
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    west, south, east, north = entry["bounds"]
    (mw, me), (ms, mn) = to_merc.transform([west, east], [south, north])
    res_x, res_y = (me - mw) / entry["width"], (mn - ms) / entry["height"]

    def png_pixel(row: float, col: float) -> np.ndarray:
        x, y = origin[0] + (col + 0.5) * pixel, origin[1] - (row + 0.5) * pixel
        src_to_merc = Transformer.from_crs(crs, 3857, always_xy=True)
        mx, my = src_to_merc.transform(x, y)
        row_at, col_at = math.floor((mn - my) / res_y), math.floor((mx - mw) / res_x)
        return np.asarray(rgba[row_at, col_at])

    covered = png_pixel(*BLOCK)
    colour = entry["legend"]["classes"][2]["colour"]
    assert bytes(covered[:3]).hex() == colour[1:] and covered[3] > 0
    assert png_pixel(65, 65)[3] == 0  # below T-10 dB
    assert png_pixel(5, 5)[3] == 0  # nodata
    assert int((rgba[..., 3] > 0).sum()) <= 4 * 9  # only the block (and its edges)
