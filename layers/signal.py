"""Mobile signal rasters (RSRP in dBm): GeoTIFF only, read block by block as GDAL means them.

The adapter takes an open dataset (tests build one in a ``rasterio.io.MemoryFile``);
:meth:`SignalRaster.open` opens a layer's file with the GTiff driver alone, so a ``.tif``
that is really a GDAL VRT (which can read any file or fetch URLs) is refused.
Values are read with their mask (mask band, ``.msk`` file, alpha band or nodata) and
their scale/offset, then checked to be RSRP in dBm; the core (``geodx.raster``) decides
which blocks to read and what reaches the threshold.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import TracebackType

import numpy as np
import rasterio
import rasterio.errors
from numpy.typing import NDArray
from pyproj import CRS
from rasterio.enums import Interleaving
from rasterio.io import DatasetReader
from rasterio.windows import Window

from geodx.errors import (
    CRSError,
    InputFileError,
    InputTooLarge,
    UnsupportedFormat,
    first_line,
)
from geodx.formats import check_file_size
from geodx.kernels_webmerc import WEBMERC_PIPELINE, webmerc_pixels
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import LayerSpec
from geodx.points import HouseholdPoints
from geodx.raster import pixel_windows, points_to_pixels, signal_reaches
from layers.base import LayerAnswer

RASTER_SUFFIXES = {".tif", ".tiff"}
# Raster formats geodx does not read (GDAL would): refused by name, not by content.
REFUSED_RASTER_SUFFIXES = {".vrt", ".img", ".nc", ".gtiff", ".jp2", ".asc", ".hdf"}
# SS-RSRP reporting range (3GPP TS 38.133; LTE's -140..-44 dBm lies inside it).
RSRP_RANGE_DBM = (-156.0, -31.0)
# Adjacent blocks are read together up to this many bytes of pixels per read.
READ_CHUNK_BYTES = 16 * 1024**2


class SignalRaster:
    """A household is covered when its pixel is valid and ``>= min_rsrp_dbm``.

    Parameters
    ----------
    dataset : rasterio.io.DatasetReader
        An open GeoTIFF; the adapter reads it (and :meth:`close` closes it).
    spec : LayerSpec
        The layer: id and path (for messages), band and threshold.
    limits : Limits
        ``max_raster_pixels`` (declared width x height) and
        ``max_raster_window_bytes`` (bytes of one block decoded at once).

    Raises
    ------
    UnsupportedFormat, CRSError, InputFileError, InputTooLarge
    """

    source = "raster"

    def __init__(
        self,
        dataset: DatasetReader,
        spec: LayerSpec,
        *,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.spec, self.dataset = spec, dataset
        self._pid = os.getpid()  # the process the dataset was opened in
        where = f"{spec.path}: raster of layer '{spec.id}'"
        if dataset.driver != "GTiff":
            raise UnsupportedFormat(f"{where} is {dataset.driver}, not a GeoTIFF")
        if dataset.crs is None:
            raise CRSError(f"{where} has no CRS")
        if not 1 <= spec.band <= dataset.count:
            raise InputFileError(
                f"{spec.path}: layer '{spec.id}' asks for band {spec.band}; "
                f"the raster has {dataset.count}"
            )
        self.crs = CRS(dataset.crs.to_wkt())
        self.transform = dataset.transform
        self.width, self.height = dataset.width, dataset.height
        bh, bw = dataset.block_shapes[spec.band - 1]
        self.block_shape = (int(bh), int(bw))
        self.scale = float(dataset.scales[spec.band - 1])
        self.offset = float(dataset.offsets[spec.band - 1])
        if not (np.isfinite(self.scale) and np.isfinite(self.offset) and self.scale):
            raise InputFileError(
                f"{where} has scale {self.scale:g} and offset {self.offset:g}; "
                "expected finite numbers and a scale other than 0"
            )
        self._check_sizes(limits, where)

    def _check_sizes(self, limits: Limits, where: str) -> None:
        pixels = self.width * self.height
        if pixels > limits.max_raster_pixels:
            raise InputTooLarge(
                f"{where} declares {self.width} x {self.height} = {pixels:,} pixels; "
                f"the limit is {limits.max_raster_pixels:,} (GEODX_MAX_RASTER_PIXELS)"
            )
        bh, bw = self.block_shape
        item = np.dtype(self.dataset.dtypes[self.spec.band - 1]).itemsize
        bands = (
            self.dataset.count if self.dataset.interleaving == Interleaving.pixel else 1
        )
        block_bytes = bh * bw * item * bands
        if block_bytes > limits.max_raster_window_bytes:
            raise InputTooLarge(
                f"{where} is stored in blocks of {bw} x {bh} pixels: decoding one "
                f"takes {block_bytes:,} bytes; the limit is "
                f"{limits.max_raster_window_bytes:,} (GEODX_MAX_RASTER_WINDOW_BYTES)"
            )
        self._chunk_pixels = max(
            1, min(READ_CHUNK_BYTES, limits.max_raster_window_bytes) // (item * bands)
        )

    @classmethod
    def open(cls, spec: LayerSpec, *, limits: Limits = DEFAULT_LIMITS) -> SignalRaster:
        """Open the layer's file with the GTiff driver alone and check it.

        ``limits.max_file_bytes`` applies to the file, besides the raster budgets.

        Raises
        ------
        UnsupportedFormat, InputFileError, CRSError, InputTooLarge
        """
        path = spec.path
        where = f"{path}: raster of layer '{spec.id}'"
        if path.suffix.lower() not in RASTER_SUFFIXES:
            raise UnsupportedFormat(
                f"{where}: {path.suffix!r} is not read; rasters must be GeoTIFF (.tif, .tiff)"
            )
        if not path.is_file():
            raise InputFileError(f"{where} is not a local file")
        check_file_size(path, limits, role=f"raster of layer '{spec.id}'")
        try:
            dataset = rasterio.open(path, driver="GTiff")
        except rasterio.errors.RasterioError as exc:
            raise InputFileError(
                f"{where} cannot be read as a GeoTIFF: {first_line(exc)}"
            ) from None
        try:
            return cls(dataset, spec, limits=limits)
        except BaseException:
            dataset.close()
            raise

    def close(self) -> None:
        """Close the dataset."""
        self.dataset.close()

    def __enter__(self) -> SignalRaster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def covers(self, households: HouseholdPoints) -> NDArray[np.bool_]:
        """Return whether the pixel holding each household reaches the threshold.

        Raises
        ------
        InputFileError
            When pixels cannot be read, or valid values near households are not RSRP
            in dBm (outside ``RSRP_RANGE_DBM`` after scale and offset).
        """
        return self.answer(households, ()).covered

    def answer(
        self, households: HouseholdPoints, deltas_db: Sequence[float]
    ) -> LayerAnswer:
        """Covered at the threshold and with every pixel value ``delta`` dB higher.

        The pixels are read once; each delta is one more comparison
        (``value + delta >= min_rsrp_dbm``), and so is the indoor answer of a layer
        with ``indoor_loss_db`` (``value - indoor_loss_db >= min_rsrp_dbm``; None
        without it).
        """
        row, col, inside = self.pixels(households)
        values = np.full(len(households), np.nan)
        idx = np.flatnonzero(inside)
        if len(idx):
            values[idx] = self.values_at(row[idx], col[idx])
            self._check_range(values[idx])
        threshold, loss = self.spec.min_rsrp_dbm, self.spec.indoor_loss_db
        return LayerAnswer(
            covered=signal_reaches(values, min_value=threshold),
            shifted={
                d: signal_reaches(values + d, min_value=threshold) for d in deltas_db
            },
            indoor=None
            if loss is None
            else signal_reaches(values - loss, min_value=threshold),
        )

    def pixels(
        self, households: HouseholdPoints
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
        """``(row, col, inside)`` of each household's pixel (``points_to_pixels``).

        WGS84 households in a Web Mercator raster take numpy's projection, PROJ only
        where a pixel edge is within a millimetre (``geodx.kernels_webmerc``): the
        same pixels, without projecting every household.
        """
        size = {"width": self.width, "height": self.height}
        if not households.has_xy(self.crs) and (
            households.pipeline_to(self.crs) == WEBMERC_PIPELINE
        ):
            lng, lat = households.xy(households.crs)
            return webmerc_pixels(
                lng,
                lat,
                self.transform,
                exact=lambda index: households.xy_at(self.crs, index),
                **size,
            )
        x, y = households.xy(self.crs)
        return points_to_pixels(x, y, self.transform, **size)

    def values_at(
        self, row: NDArray[np.int64], col: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """RSRP at pixels ``(row, col)`` as GDAL defines it; NaN where not valid.

        Only the blocks holding a pixel are decoded, a few adjacent ones per read.
        """
        raw = np.full(len(row), np.nan)
        plan = pixel_windows(
            row,
            col,
            block_shape=self.block_shape,
            width=self.width,
            height=self.height,
            max_pixels=self._chunk_pixels,
        )
        try:
            dataset = self._own_dataset()
            for w in plan:
                block = dataset.read(
                    self.spec.band,
                    window=Window(w.col_off, w.row_off, w.width, w.height),
                    masked=True,
                )
                flat = (row[w.points] - w.row_off) * w.width + col[w.points] - w.col_off
                got = np.take(block.data, flat).astype(np.float64)
                got[np.take(np.ma.getmaskarray(block), flat)] = np.nan
                raw[w.points] = got
        except rasterio.errors.RasterioError as exc:
            raise InputFileError(
                f"{self.spec.path}: cannot read pixels of layer '{self.spec.id}': "
                f"{first_line(exc)}"
            ) from None
        return raw * self.scale + self.offset

    def _own_dataset(self) -> DatasetReader:
        """The dataset, opened again (GTiff alone) in a process forked since it was.

        A forked child shares the parent's file offset: two processes reading one
        handle would read each other's pixels (the local engine's workers).
        """
        if self._pid != os.getpid():
            self.dataset = rasterio.open(self.dataset.name, driver="GTiff")
            self._pid = os.getpid()
        return self.dataset

    def _check_range(self, values: NDArray[np.float64]) -> None:
        low, high = RSRP_RANGE_DBM
        valid = values[~np.isnan(values)]
        bad = valid[(valid < low) | (valid > high)]
        if len(bad):
            raise InputFileError(
                f"{self.spec.path}: raster of layer '{self.spec.id}' is not RSRP in dBm: "
                f"{len(bad):,} households' pixels hold {bad.min():g} to {bad.max():g} "
                f"(after scale/offset), outside [{low:g}, {high:g}] dBm; "
                "convert it to dBm or mark pixels without signal as nodata"
            )
