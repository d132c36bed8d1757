"""Image layers for the maps: RSRP as RGBA PNGs in Web Mercator, and site predictions.

Leaflet's ``imageOverlay`` stretches an image linearly between two WGS84 corners in Web
Mercator (EPSG:3857), so every image here is warped to EPSG:3857
(``rasterio.warp.reproject``, nearest neighbour: a pixel keeps a value of its source,
never a blend of two classes) over the layer's extent clipped to the region's bounds
grown a little; its ``bounds`` are the WGS84 corners of that EPSG:3857 rectangle.

Colours (:func:`rsrp_legend`): four classes around the layer's threshold T, in dBm —
``[T-10, T)`` below the threshold, ``[T, T+10)``, ``[T+10, T+20)``, ``>= T+20``;
transparent where the value is nodata or below ``T-10``.

Site layers (``model`` set) also get their prediction as a GeoTIFF
(:func:`prediction_grid`): RSRP in dBm (Float32, nodata NaN) on a north-up grid in the
region's UTM zone, each pixel the DESIGN.md formula at its centre, evaluated by
:meth:`layers.sites.SiteLayer.rsrp_at` — the code that predicts each household. The
counts never read this raster.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject, transform_bounds
from rasterio.windows import Window, from_bounds

from geodx.pathloss import cutoff_radius_km, reach_km
from layers.signal import SignalRaster
from layers.sites import SiteLayer

WEB_MERCATOR = CRS.from_epsg(3857)
WGS84 = CRS.from_epsg(4326)
BBox = tuple[float, float, float, float]
FloatGrid = NDArray[np.float32]

# Classes around the threshold (lower bounds, dB from it) and their colours.
RSRP_STEPS_DB = (-10.0, 0.0, 10.0, 20.0)
RSRP_COLOURS = ("#d7301f", "#fdcc8a", "#78c679", "#238443")
RSRP_LABELS = (
    "below the threshold",
    "at the threshold",
    "threshold + 10 dB",
    "threshold + 20 dB",
)
ALPHA = 180  # 0-255: the base map stays readable under the overlay
# The source pixels read for one image: at most this many times its pixel budget.
READ_FACTOR = 4


@dataclass(frozen=True)
class Grid:
    """Values on a north-up grid: ``values[row, col]`` at ``transform * (col, row)``."""

    values: FloatGrid
    transform: Affine
    crs: CRS


def rsrp_legend(threshold_dbm: float) -> dict[str, Any]:
    """The colour classes of an RSRP image around ``threshold_dbm``.

    Examples
    --------
    >>> [c["min_dbm"] for c in rsrp_legend(-105.0)["classes"]]
    [-115.0, -105.0, -95.0, -85.0]
    """
    lows = [threshold_dbm + step for step in RSRP_STEPS_DB]
    highs: list[float | None] = [*lows[1:], None]
    classes = [
        {
            "min_dbm": low,
            "max_dbm": high,
            "colour": colour,
            "opacity": round(ALPHA / 255, 3),
            "label": label,
        }
        for low, high, colour, label in zip(
            lows, highs, RSRP_COLOURS, RSRP_LABELS, strict=True
        )
    ]
    return {
        "unit": "dBm",
        "threshold_dbm": threshold_dbm,
        "classes": classes,
        "transparent": f"nodata, or below {lows[0]:g} dBm",
    }


def rsrp_rgba(values: FloatGrid, threshold_dbm: float) -> NDArray[np.uint8]:
    """RGBA pixels (height x width x 4) of RSRP values by :func:`rsrp_legend`'s classes."""
    lows = np.asarray([threshold_dbm + s for s in RSRP_STEPS_DB])
    with np.errstate(invalid="ignore"):
        index = np.searchsorted(lows, values, side="right") - 1
    shown = np.isfinite(values) & (index >= 0)
    palette = np.zeros((len(lows) + 1, 4), dtype=np.uint8)  # last row: transparent
    for i, colour in enumerate(RSRP_COLOURS):
        palette[i] = [*bytes.fromhex(colour[1:]), ALPHA]
    return palette[np.where(shown, index, len(lows))]


def png_bytes(rgba: NDArray[np.uint8]) -> bytes:
    """An 8-bit RGBA PNG of ``rgba`` (height x width x 4), rows unfiltered.

    Examples
    --------
    >>> png_bytes(np.zeros((1, 1, 4), dtype=np.uint8))[1:4]
    b'PNG'
    """
    height, width, _ = rgba.shape
    rows = np.zeros((height, 1 + 4 * width), dtype=np.uint8)
    rows[:, 1:] = rgba.reshape(height, 4 * width)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + chunk(b"IEND", b"")
    )


def _intersect(a: BBox, b: BBox) -> BBox | None:
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] < box[2] and box[1] < box[3] else None


def _grid_bounds(grid: Grid) -> BBox:
    height, width = grid.values.shape
    corners = [grid.transform @ (c, r) for c in (0, width) for r in (0, height)]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    return (min(xs), min(ys), max(xs), max(ys))


def to_mercator(
    grid: Grid, *, clip_wgs84: BBox, max_pixels: int
) -> tuple[Grid, BBox] | None:
    """``grid`` warped to EPSG:3857 over its extent within ``clip_wgs84``.

    The pixel size is the source's (as ``calculate_default_transform`` gives it), made
    larger when the image would exceed ``max_pixels``. Returns the warped grid and its
    WGS84 bounds, or None when the grid lies outside ``clip_wgs84``.
    """
    height, width = grid.values.shape
    src = _grid_bounds(grid)
    extent = _intersect(
        transform_bounds(grid.crs, WEB_MERCATOR, *src, densify_pts=21),
        transform_bounds(WGS84, WEB_MERCATOR, *clip_wgs84, densify_pts=21),
    )
    if extent is None:
        return None
    native, _, _ = calculate_default_transform(
        grid.crs, WEB_MERCATOR, width, height, *src
    )
    west, south, east, north = extent
    res = max(abs(native.a), math.sqrt((east - west) * (north - south) / max_pixels))
    cols = max(1, min(math.ceil((east - west) / res), max_pixels))
    rows = max(1, min(math.ceil((north - south) / res), max_pixels // cols))
    transform = Affine((east - west) / cols, 0, west, 0, -(north - south) / rows, north)
    out = np.full((rows, cols), np.nan, dtype=np.float32)
    reproject(
        source=grid.values,
        destination=out,
        src_transform=grid.transform,
        src_crs=grid.crs,
        src_nodata=np.nan,
        dst_transform=transform,
        dst_crs=WEB_MERCATOR,
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    to_lonlat = Transformer.from_crs(WEB_MERCATOR, WGS84, always_xy=True)
    (w, e), (s, n) = to_lonlat.transform([west, east], [south, north])
    return Grid(out, transform, WEB_MERCATOR), (w, s, e, n)


def read_signal(
    raster: SignalRaster, *, clip_wgs84: BBox, max_pixels: int
) -> Grid | None:
    """RSRP (dBm, NaN where not valid) of the raster's part inside ``clip_wgs84``.

    Read as GDAL means it (mask, scale and offset), decimated (nearest) when the part
    holds more than ``READ_FACTOR x max_pixels`` pixels, so memory stays bounded.
    """
    dataset = raster.dataset
    box = transform_bounds(WGS84, raster.crs, *clip_wgs84, densify_pts=21)
    full = Window(0, 0, raster.width, raster.height)
    try:
        window = from_bounds(*box, transform=raster.transform).round_offsets()
        window = window.round_lengths().intersection(full)
    except rasterio.errors.WindowError:
        return None
    if window.width < 1 or window.height < 1:
        return None
    factor = max(
        1.0, math.sqrt(window.width * window.height / (READ_FACTOR * max_pixels))
    )
    shape = (max(1, int(window.height / factor)), max(1, int(window.width / factor)))
    block = dataset.read(
        raster.spec.band,
        window=window,
        out_shape=shape,
        masked=True,
        resampling=Resampling.nearest,
    )
    values = block.data.astype(np.float64) * raster.scale + raster.offset
    values[np.ma.getmaskarray(block)] = np.nan
    scale = Affine.scale(window.width / shape[1], window.height / shape[0])
    transform = dataset.window_transform(window) * scale
    return Grid(values.astype(np.float32), transform, raster.crs)


def prediction_grid(
    layer: SiteLayer,
    *,
    clip_wgs84: BBox,
    pixel_m: float,
    max_pixels: int,
    below_db: float = -RSRP_STEPS_DB[0],
) -> Grid | None:
    """The layer's predicted RSRP at pixel centres of a grid in its UTM zone.

    The grid covers every sector's reach (down to ``min_rsrp_dbm - below_db``) within
    ``clip_wgs84``, its origin on whole multiples of the pixel size; the pixel is
    ``pixel_m``, made coarser (whole metres) until the grid holds at most
    ``max_pixels``. Values are exact down to ``min_rsrp_dbm - below_db``, NaN below it
    and where no sector reaches. None when no sector reaches into ``clip_wgs84``.
    """
    plan = prediction_plan(
        layer,
        clip_wgs84=clip_wgs84,
        pixel_m=pixel_m,
        max_pixels=max_pixels,
        below_db=below_db,
    )
    return None if plan is None else predict(layer, plan)


@dataclass(frozen=True)
class PredictionPlan:
    """The grid of a prediction raster: ``rows x cols`` pixels at ``transform``."""

    transform: Affine
    rows: int
    cols: int
    floor_dbm: float


def prediction_plan(
    layer: SiteLayer,
    *,
    clip_wgs84: BBox,
    pixel_m: float,
    max_pixels: int,
    below_db: float = -RSRP_STEPS_DB[0],
) -> PredictionPlan | None:
    """The grid :func:`prediction_grid` evaluates (GDAL and PROJ calls only here)."""
    floor = layer.spec.min_rsrp_dbm - below_db
    sectors = layer.sectors
    reach_m = 1000.0 * cutoff_radius_km(
        sectors, environment=layer.environment, threshold_dbm=floor
    )
    if len(sectors) == 0 or reach_m < 0:
        return None
    reached = (
        float(sectors.x.min()) - reach_m,
        float(sectors.y.min()) - reach_m,
        float(sectors.x.max()) + reach_m,
        float(sectors.y.max()) + reach_m,
    )
    crs = layer.metric_crs
    clip = transform_bounds(WGS84, crs, *clip_wgs84, densify_pts=21)
    extent = _intersect(reached, clip)
    if extent is None:
        return None
    pixel, (cols, rows, west, north) = pixel_m, _aligned(extent, pixel_m)
    while cols * rows > max_pixels:
        pixel = float(math.ceil(pixel * math.sqrt(cols * rows / max_pixels)))
        cols, rows, west, north = _aligned(extent, pixel)
    transform = Affine(pixel, 0, west, 0, -pixel, north)
    return PredictionPlan(transform, rows, cols, floor)


def predict(layer: SiteLayer, plan: PredictionPlan) -> Grid:
    """The prediction at the plan's pixel centres: numpy only, safe in a thread.

    Only pixels inside the square of some sector's reach (down to the floor,
    :func:`geodx.pathloss.reach_km`) are evaluated: every other pixel is below
    the floor for every sector, so it is NaN either way.
    """
    floor = plan.floor_dbm
    near = _within_some_reach(layer, plan)
    row, col = np.nonzero(near)
    t = plan.transform  # north-up: x from the column, y from the row
    x, y = t.c + (col + 0.5) * t.a, t.f + (row + 0.5) * t.e
    rsrp = layer.rsrp_at(x.astype(np.float64), y.astype(np.float64), floor_dbm=floor)
    values = np.full((plan.rows, plan.cols), np.nan, dtype=np.float32)
    values[row, col] = np.where(rsrp >= floor, rsrp, np.nan)
    return Grid(values, plan.transform, layer.metric_crs)


def _within_some_reach(layer: SiteLayer, plan: PredictionPlan) -> NDArray[np.bool_]:
    """Pixels whose centre lies in the square of at least one sector's reach."""
    s, t = layer.sectors, plan.transform
    reach = 1000.0 * reach_km(
        s, environment=layer.environment, threshold_dbm=plan.floor_dbm
    )
    live = reach >= 0
    pixel = t.a
    c0 = np.floor((s.x[live] - reach[live] - t.c) / pixel).astype(np.int64)
    c1 = np.ceil((s.x[live] + reach[live] - t.c) / pixel).astype(np.int64)
    r0 = np.floor((t.f - s.y[live] - reach[live]) / pixel).astype(np.int64)
    r1 = np.ceil((t.f - s.y[live] + reach[live]) / pixel).astype(np.int64)
    near = np.zeros((plan.rows, plan.cols), dtype=bool)
    for a, b, c, d in zip(
        r0.tolist(), r1.tolist(), c0.tolist(), c1.tolist(), strict=True
    ):
        near[max(a, 0) : max(b, 0), max(c, 0) : max(d, 0)] = True
    return near


def _aligned(extent: BBox, pixel: float) -> tuple[int, int, float, float]:
    """Columns, rows, west and north of a grid of ``pixel`` on whole multiples."""
    west = math.floor(extent[0] / pixel) * pixel
    north = math.ceil(extent[3] / pixel) * pixel
    cols = max(1, math.ceil((extent[2] - west) / pixel))
    rows = max(1, math.ceil((north - extent[1]) / pixel))
    return cols, rows, west, north


def write_geotiff(path: Any, grid: Grid, *, description: str) -> None:
    """Write ``grid`` as a Float32 GeoTIFF (deflate, tiled), nodata NaN."""
    height, width = grid.values.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "float32",
        "crs": grid.crs.to_wkt(),
        "transform": grid.transform,
        "nodata": float("nan"),
        "compress": "deflate",
        "predictor": 3,
    }
    if width >= 256 and height >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(grid.values, 1)
        dst.set_band_description(1, description)
        dst.update_tags(units="dBm")
