"""Mobile signal rasters (RSRP in dBm), read window by window with rasterio."""

from __future__ import annotations

import numpy as np
import rasterio
import rasterio.errors
from numpy.typing import NDArray
from pyproj import CRS
from rasterio.windows import Window

from geodx.errors import CRSError, InputFileError
from geodx.manifest import LayerSpec
from geodx.points import HouseholdPoints
from geodx.raster import points_to_pixels, signal_reaches

RASTER_SUFFIXES = {".tif", ".tiff", ".gtiff", ".vrt", ".img", ".nc"}
# Rows read at a time: bounds memory on large rasters.
BLOCK_ROWS = 1024


class SignalRaster:
    """A household is covered when its pixel is valid and ``>= min_rsrp_dbm``."""

    source = "raster"

    def __init__(self, spec: LayerSpec) -> None:
        self.spec = spec
        try:
            with rasterio.open(spec.path) as ds:
                if ds.crs is None:
                    raise CRSError(
                        f"{spec.path}: raster of layer '{spec.id}' has no CRS"
                    )
                if not 1 <= spec.band <= ds.count:
                    raise InputFileError(
                        f"{spec.path}: layer '{spec.id}' asks for band {spec.band}; "
                        f"the raster has {ds.count}"
                    )
                self.crs = CRS(ds.crs.to_wkt())
                self.transform = ds.transform
                self.width, self.height = ds.width, ds.height
                self.nodata = ds.nodatavals[spec.band - 1]
        except rasterio.errors.RasterioError as exc:
            raise InputFileError(
                f"{spec.path}: cannot read raster of layer '{spec.id}': {exc}"
            ) from None

    def covers(self, households: HouseholdPoints) -> NDArray[np.bool_]:
        """Return whether the pixel holding each household reaches the threshold."""
        x, y = households.xy(self.crs)
        row, col, inside = points_to_pixels(
            x, y, self.transform, width=self.width, height=self.height
        )
        out = np.zeros(len(x), dtype=bool)
        idx = np.flatnonzero(inside)
        if len(idx) == 0:
            return out
        values = self._values(row[idx], col[idx])
        out[idx] = signal_reaches(
            values, nodata=self.nodata, min_value=self.spec.min_rsrp_dbm
        )
        return out

    def _values(
        self, row: NDArray[np.int64], col: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Pixel values at (row, col), reading only the windows that hold points."""
        values = np.empty(len(row), dtype=np.float64)
        c0, c1 = int(col.min()), int(col.max()) + 1
        try:
            with rasterio.open(self.spec.path) as ds:
                for r0 in range(int(row.min()), int(row.max()) + 1, BLOCK_ROWS):
                    sel = np.flatnonzero((row >= r0) & (row < r0 + BLOCK_ROWS))
                    if len(sel) == 0:
                        continue
                    r1 = min(r0 + BLOCK_ROWS, self.height)
                    block = ds.read(
                        self.spec.band, window=Window(c0, r0, c1 - c0, r1 - r0)
                    )
                    values[sel] = block[row[sel] - r0, col[sel] - c0]
        except rasterio.errors.RasterioError as exc:
            raise InputFileError(
                f"{self.spec.path}: cannot read pixels of layer '{self.spec.id}': {exc}"
            ) from None
        return values
