"""Rasters: GeoTIFF only (a VRT in disguise is refused) and budgets (issue 6 B4, B5)."""

from __future__ import annotations

import socket
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import CRS
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from rasterio.windows import Window

from geodx.errors import InputFileError, InputTooLarge, UnsupportedFormat
from geodx.limits import Limits
from geodx.manifest_specs import LayerSpec
from geodx.points import HouseholdPoints
from layers.registry import open_layer
from layers.signal import SignalRaster

UTM = CRS.from_epsg(32649)


def _spec(path: Path) -> LayerSpec:
    return LayerSpec(id="t", kind="mobile", technology="4G", path=path)


def _write(path: Path, values: np.ndarray, **profile: object) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype=values.dtype.name,
        crs="EPSG:32649",
        transform=from_origin(0, values.shape[0], 1, 1),
        **profile,
    ) as ds:
        ds.write(values, 1)
    return path


def test_a_vrt_named_tif_is_refused_and_reads_nothing(tmp_path: Path) -> None:
    secret = _write(tmp_path / "secret.tif", np.full((4, 4), -60, "int16"))
    vrt = (
        '<VRTDataset rasterXSize="4" rasterYSize="4">'
        "<SRS>EPSG:32649</SRS><GeoTransform>0, 1, 0, 4, 0, -1</GeoTransform>"
        '<VRTRasterBand dataType="Int16" band="1"><SimpleSource>'
        f'<SourceFilename relativeToVRT="0">{secret}</SourceFilename>'
        "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>"
    )
    disguised = tmp_path / "4g.tif"
    disguised.write_text(vrt)
    with rasterio.open(disguised) as ds:  # what GDAL does when it sniffs the content
        assert ds.driver == "VRT" and ds.read(1).max() == -60
    with pytest.raises(InputFileError, match="cannot be read as a GeoTIFF") as err:
        open_layer(_spec(disguised), metric_crs=UTM)
    assert str(disguised) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["4g.vrt", "4g.img", "4g.nc", "4g.gtiff"])
def test_other_raster_formats_are_refused_by_name(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path / "real.tif", np.full((4, 4), -90, "int16"))
    target = path.rename(tmp_path / name)
    with pytest.raises(UnsupportedFormat, match="rasters must be GeoTIFF"):
        open_layer(_spec(target), metric_crs=UTM)


def test_vsi_and_url_paths_are_not_opened() -> None:
    for text in ("/vsicurl/http://127.0.0.1:9/4g.tif", "/vsimem/4g.tif"):
        with pytest.raises(InputFileError, match="is not a local file"):
            SignalRaster.open(_spec(Path(text)))


def test_a_dataset_of_another_driver_is_refused() -> None:
    with MemoryFile() as mem:
        with mem.open(
            driver="PNG",
            width=2,
            height=2,
            count=1,
            dtype="uint8",
            crs="EPSG:32649",
            transform=from_origin(0, 2, 1, 1),
        ) as ds:
            ds.write(np.zeros((2, 2), "uint8"), 1)
        with mem.open() as ds, pytest.raises(UnsupportedFormat, match="not a GeoTIFF"):
            SignalRaster(ds, _spec(Path("x.png")))


def _sparse(path: Path, size: int, block: int, tiles: list[tuple[int, int]]) -> Path:
    """A tiled GeoTIFF declaring ``size`` x ``size`` pixels with only ``tiles`` written."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="float32",
        crs="EPSG:32649",
        transform=from_origin(0, size, 1, 1),
        nodata=-9999.0,
        tiled=True,
        blockxsize=block,
        blockysize=block,
        sparse_ok=True,
        compress="deflate",
        BIGTIFF="IF_SAFER",
    ) as ds:
        for row, col in tiles:
            values = np.full((block, block), -80.0, "float32")
            values[:, block // 2 :] = -120.0
            ds.write(values, 1, window=Window(col * block, row * block, block, block))
    return path


def test_a_raster_declaring_a_trillion_pixels_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    path = _sparse(tmp_path / "huge.tif", 1_000_000, 16384, [])
    assert path.stat().st_size < 1_000_000
    with pytest.raises(InputTooLarge) as err:
        open_layer(_spec(path), metric_crs=UTM)
    message = str(err.value)
    assert "1000000 x 1000000" in message and "GEODX_MAX_RASTER_PIXELS" in message
    assert "\n" not in message


def test_only_blocks_holding_households_are_decoded(tmp_path: Path) -> None:
    # 10^10 pixels (40 GB of float32) declared, 1.2 MB on disk; households in two
    # tiles 95,000 pixels apart and in tiles never written (nodata).
    path = _sparse(tmp_path / "sparse.tif", 100_000, 256, [(2, 3), (2, 373)])
    size = 100_000
    cols = np.array(
        [3 * 256 + 10, 3 * 256 + 200, 373 * 256 + 10, 373 * 256 + 200, 50_000]
    )
    x = cols + 0.5
    y = size - (2 * 256 + 7.5) + np.zeros(len(cols))
    hh = HouseholdPoints(x.astype(float), y, np.ones(len(x)), UTM)
    tracemalloc.start()
    start = time.process_time()  # CPU time: other processes' load does not count
    try:
        with SignalRaster.open(_spec(path)) as layer:
            got = layer.covers(hh)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.tolist() == [True, False, True, False, False]
    assert peak < 32 * 1024**2, (
        peak
    )  # the old reader allocated 1024 rows x 95,000 columns
    assert time.process_time() - start < 10


def test_a_block_larger_than_the_window_budget_is_refused(tmp_path: Path) -> None:
    values = np.full((1024, 1024), -90.0, "float32")
    striped = _write(
        tmp_path / "one_strip.tif", values, compress="deflate", blockysize=1024
    )
    tiled = _write(
        tmp_path / "tiled.tif",
        values,
        compress="deflate",
        tiled=True,
        blockxsize=256,
        blockysize=256,
    )
    limits = Limits(max_raster_window_bytes=1024**2)
    with pytest.raises(InputTooLarge, match="GEODX_MAX_RASTER_WINDOW_BYTES") as err:
        SignalRaster.open(_spec(striped), limits=limits)
    assert "1024 x 1024" in str(err.value) and "4,194,304 bytes" in str(err.value)
    hh = HouseholdPoints(
        np.array([10.5, 900.5]), np.array([1000.5, 3.5]), np.ones(2), UTM
    )
    with SignalRaster.open(_spec(tiled), limits=limits) as layer:
        assert layer.covers(hh).tolist() == [True, True]


def test_a_raster_file_larger_than_the_file_budget_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.tif", np.full((64, 64), -90.0, "float32"))
    with pytest.raises(InputTooLarge, match="GEODX_MAX_FILE_BYTES"):
        open_layer(_spec(path), metric_crs=UTM, limits=Limits(max_file_bytes=1000))


def test_a_vrt_named_tif_fetching_a_url_makes_no_request(tmp_path: Path) -> None:
    with socket.socket() as canary:
        canary.bind(("127.0.0.1", 0))
        canary.listen(1)
        canary.settimeout(0.3)
        url = f"/vsicurl/http://127.0.0.1:{canary.getsockname()[1]}/4g.tif"
        disguised = tmp_path / "4g.tif"
        disguised.write_text(
            '<VRTDataset rasterXSize="4" rasterYSize="4"><VRTRasterBand '
            'dataType="Int16" band="1"><SimpleSource><SourceFilename>'
            f"{url}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>"
            "</VRTRasterBand></VRTDataset>"
        )
        with pytest.raises(InputFileError, match="cannot be read as a GeoTIFF"):
            open_layer(_spec(disguised), metric_crs=UTM)
        with pytest.raises(TimeoutError):
            canary.accept()
