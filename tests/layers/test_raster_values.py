"""Rasters read as GDAL means them: masks, alpha, nodata, NaN and scale/offset (issue 6 D8).

Every expected answer is computed per pixel from the arrays the test wrote, not through
GDAL: the pixel is ``floor`` of the offset over the pixel size, it is valid when the
test's own mask, alpha and nodata say so, and its value is ``raw * scale + offset``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import CRS
from rasterio.enums import ColorInterp
from rasterio.io import MemoryFile
from rasterio.transform import from_origin

from geodx.errors import InputFileError
from geodx.manifest_specs import LayerSpec
from geodx.points import HouseholdPoints
from layers.signal import SignalRaster

X0, Y0, PX = 800_000.0, 1_400_000.0, 100.0
H, W = 6, 8
TRANSFORM = from_origin(X0, Y0, PX, PX)
SPEC = LayerSpec(
    id="t", kind="mobile", technology="4G", path=Path("mem.tif"), min_rsrp_dbm=-105
)


def _households() -> HouseholdPoints:
    """Every pixel centre, every pixel corner (edges), and points just outside."""
    cx, cy = np.meshgrid(X0 + PX * (np.arange(W) + 0.5), Y0 - PX * (np.arange(H) + 0.5))
    ex, ey = np.meshgrid(X0 + PX * np.arange(W + 1), Y0 - PX * np.arange(H + 1))
    x = np.r_[cx.ravel(), ex.ravel(), X0 - 0.01, X0 + W * PX + 0.01, X0 + 50]
    y = np.r_[cy.ravel(), ey.ravel(), Y0 - 50, Y0 - 50, Y0 + 0.01]
    return HouseholdPoints(x, y, np.ones(len(x)), CRS.from_epsg(32649))


def _expected(
    hh: HouseholdPoints, value: np.ndarray, valid: np.ndarray, min_dbm: float = -105
) -> np.ndarray:
    """Per household: inside, valid, and value >= threshold, by plain arithmetic."""
    out = np.zeros(len(hh), bool)
    for i, (x, y) in enumerate(zip(hh.x, hh.y, strict=True)):
        col, row = int(np.floor((x - X0) / PX)), int(np.floor((Y0 - y) / PX))
        if 0 <= row < H and 0 <= col < W and valid[row, col]:
            out[i] = value[row, col] >= min_dbm
    return out


def _memory_raster(
    mem: MemoryFile,
    raw: np.ndarray,
    *,
    nodata: float | None = None,
    mask: np.ndarray | None = None,
    alpha: np.ndarray | None = None,
    scale: float = 1.0,
    offset: float = 0.0,
) -> rasterio.io.DatasetReader:
    count = 1 if alpha is None else 2
    with mem.open(
        driver="GTiff",
        width=W,
        height=H,
        count=count,
        dtype=raw.dtype.name,
        crs="EPSG:32649",
        transform=TRANSFORM,
        nodata=nodata,
    ) as ds:
        ds.write(raw, 1)
        if alpha is not None:
            ds.write(alpha.astype(raw.dtype), 2)
            ds.colorinterp = [ColorInterp.gray, ColorInterp.alpha]
        if mask is not None:
            ds.write_mask(np.where(mask, 255, 0).astype("uint8"))
        ds.scales = (scale,) * count
        ds.offsets = (offset,) * count
    return mem.open()


def _rsrp(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-125, -80, (H, W)).astype("float32")


def _covers(dataset: rasterio.io.DatasetReader, hh: HouseholdPoints) -> np.ndarray:
    with SignalRaster(dataset, SPEC) as layer:
        return layer.covers(hh)


def test_internal_mask_band_masked_pixels_holding_0_dbm_are_not_covered() -> None:
    raw = _rsrp(1)
    valid = np.random.default_rng(2).random((H, W)) > 0.3
    raw[~valid] = 0.0  # 0 dBm: covered if the mask were ignored
    hh = _households()
    with MemoryFile() as mem:
        got = _covers(_memory_raster(mem, raw, mask=valid), hh)
    assert (got == _expected(hh, raw, valid)).all()
    assert got.sum() > 0


def test_alpha_band_transparent_pixels_are_not_covered() -> None:
    # GDAL takes a Byte alpha band as the dataset's mask (so data are Byte too:
    # RSRP + 140 dBm, with offset -140).
    rng = np.random.default_rng(3)
    raw = rng.integers(15, 60, (H, W)).astype("uint8")
    alpha = np.where(rng.random((H, W)) > 0.4, 255, 0)
    raw[alpha == 0] = 100  # -40 dBm: covered if alpha were ignored
    hh = _households()
    with MemoryFile() as mem:
        got = _covers(_memory_raster(mem, raw, alpha=alpha, offset=-140.0), hh)
    assert (got == _expected(hh, raw - 140.0, alpha > 0)).all()
    assert got.sum() > 0


def test_nodata_and_nan_are_not_covered() -> None:
    raw = _rsrp(5)
    rng = np.random.default_rng(6)
    raw[rng.random((H, W)) < 0.2] = -40.0  # nodata, above the threshold
    raw[rng.random((H, W)) < 0.2] = np.nan
    valid = (raw != -40.0) & ~np.isnan(raw)
    hh = _households()
    with MemoryFile() as mem:
        got = _covers(_memory_raster(mem, raw, nodata=-40.0), hh)
    assert (got == _expected(hh, raw, valid)).all()


@pytest.mark.parametrize(
    ("dtype", "scale", "offset", "nodata"),
    [
        ("uint8", 1.0, -140.0, 255),
        ("uint16", 0.1, -150.0, None),
        ("int16", 0.5, -20.0, -32768),
    ],
)
def test_scale_and_offset_are_applied(
    dtype: str, scale: float, offset: float, nodata: float | None
) -> None:
    rng = np.random.default_rng(7)
    value = rng.uniform(-125, -80, (H, W))
    raw = np.round((value - offset) / scale).astype(dtype)
    valid = np.ones((H, W), bool)
    if nodata is not None:
        raw[0, :3] = nodata
        valid[0, :3] = False
    hh = _households()
    with MemoryFile() as mem:
        got = _covers(
            _memory_raster(mem, raw, nodata=nodata, scale=scale, offset=offset), hh
        )
    expected = _expected(hh, raw.astype(float) * scale + offset, valid)
    assert (got == expected).all()
    assert (
        0 < got.sum() < expected.size
    )  # raw counts are all >= -105: covered everywhere


def test_external_msk_file_is_honoured(tmp_path: Path) -> None:
    raw = _rsrp(8)
    valid = np.random.default_rng(9).random((H, W)) > 0.5
    raw[~valid] = -50.0
    path = tmp_path / "r.tif"
    with (
        rasterio.Env(GDAL_TIFF_INTERNAL_MASK=False),
        rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=W,
            height=H,
            count=1,
            dtype="float32",
            crs="EPSG:32649",
            transform=TRANSFORM,
        ) as ds,
    ):
        ds.write(raw, 1)
        ds.write_mask(np.where(valid, 255, 0).astype("uint8"))
    assert (tmp_path / "r.tif.msk").exists()
    hh = _households()
    spec = LayerSpec(id="t", kind="mobile", technology="4G", path=path)
    with SignalRaster.open(spec) as layer:
        got = layer.covers(hh)
    assert (got == _expected(hh, raw, valid)).all()


@pytest.mark.parametrize(
    ("values", "found"),
    [
        (np.full((H, W), 1e-9), "1e-09"),  # milliwatts
        (np.random.default_rng(10).uniform(20, 60, (H, W)), "households' pixels"),
        (np.full((H, W), -170.0), "-170"),  # dB below anything a phone reports
    ],
)
def test_values_that_are_not_rsrp_in_dbm_are_refused(
    values: np.ndarray, found: str
) -> None:
    with MemoryFile() as mem, pytest.raises(InputFileError) as err:
        _covers(_memory_raster(mem, values.astype("float32")), _households())
    message = str(err.value)
    assert "not RSRP in dBm" in message and "[-156, -31] dBm" in message
    assert found in message and "\n" not in message


def test_out_of_range_values_behind_the_mask_are_accepted() -> None:
    raw = _rsrp(11)
    valid = np.ones((H, W), bool)
    valid[2:4, 2:5] = False
    raw[~valid] = 1000.0
    hh = _households()
    with MemoryFile() as mem:
        got = _covers(_memory_raster(mem, raw, mask=valid), hh)
    assert (got == _expected(hh, raw, valid)).all()
