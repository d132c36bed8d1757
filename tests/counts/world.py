"""A small generated region for the counts tests, and the rule written again naively.

Communes are 2 km squares in UTM zone 49N with whole-metre corners, and the density
raster has 100 m pixels whose centres fall on whole 50 m multiples, so some centres lie
exactly on shared boundaries (and corners): the boundary rule is tested, not dodged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.transform import from_origin

UTM = "EPSG:32649"
X0, Y0 = 300_000.0, 1_400_000.0
KM2 = 2_000.0
# code -> (column, row) of its 2 km square; "005" lies where the raster has no data.
SQUARES = {"001": (0, 0), "002": (1, 0), "003": (0, 1), "004": (1, 1), "005": (3, 0)}
# No count row for "004"; "999" is no commune.
COUNTS = {"001": 120.0, "002": 75.5, "003": 40.0, "005": 12.0, "999": 9.0}
NODATA = -9999.0
SCALE, OFFSET = 0.5, 0.0


def square(col: int, row: int) -> shapely.Polygon:
    x, y = X0 + col * KM2, Y0 + row * KM2
    return shapely.box(x, y, x + KM2, y + KM2)


def communes_frame() -> gpd.GeoDataFrame:
    codes = list(SQUARES)
    return gpd.GeoDataFrame(
        {"ma_xa": codes, "ten_xa": [f"Xã {c}" for c in codes]},
        geometry=[square(*SQUARES[c]) for c in codes],
        crs=UTM,
    )


def write_communes(path: Path) -> Path:
    communes_frame().to_file(path, driver="GPKG")
    return path


def write_counts(path: Path, counts: dict[str, Any] | None = None) -> Path:
    counts = COUNTS if counts is None else counts
    pd.DataFrame({"ma": list(counts), "so_ho": list(counts.values())}).to_csv(
        path, index=False
    )
    return path


def density_array(seed: int = 1) -> np.ndarray:
    """Raw pixel values (before scale 0.5): zeros, nodata, and positive values."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 20, size=(45, 45)).astype(np.float32)
    raw[rng.random(raw.shape) < 0.1] = NODATA
    raw[:, 40:] = NODATA  # no data east of 304 km; "005" (306-308 km) lies off it
    return raw


def write_density(path: Path, seed: int = 1, **profile: Any) -> Path:
    """45 x 45 pixels of 100 m from (299 950, 1 404 450): centres at 50 m multiples."""
    raw = density_array(seed)
    transform = from_origin(X0 - 50.0, Y0 + 4_450.0, 100.0, 100.0)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=raw.shape[1],
        height=raw.shape[0],
        count=1,
        dtype="float32",
        crs=UTM,
        transform=transform,
        nodata=NODATA,
        **profile,
    ) as dst:
        dst.write(raw, 1)
        dst.scales = (SCALE,)
        dst.offsets = (OFFSET,)
    return path


def write_manifest(folder: Path, households: str, layers: str = "") -> Path:
    text = (
        '[region]\nname = "Counts test"\nh3_resolution = 9\n\n'
        '[communes]\npath = "communes.gpkg"\ncode = "ma_xa"\nname = "ten_xa"\n\n'
        f"[households]\n{households}\n{layers}"
    )
    path = folder / "region.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the rule again, naively: one candidate at a time, shapely covers -------------
def commune_of(point: shapely.Point, communes: gpd.GeoDataFrame) -> str | None:
    """The smallest code whose polygon covers the point (boundary included)."""
    hits = [
        str(code)
        for code, geom in zip(communes["ma_xa"], communes.geometry, strict=True)
        if geom.covers(point)
    ]
    return min(hits) if hits else None


def brute_spread(
    candidates: list[tuple[float, float, float]],
    communes: gpd.GeoDataFrame,
    counts: dict[str, float],
) -> list[tuple[float, float, float, str]]:
    """(x, y, weight, code) per household point, by DESIGN.md's rule, in a loop."""
    owned: dict[str, list[tuple[float, float, float]]] = {}
    for x, y, value in candidates:
        if not value > 0:
            continue
        code = commune_of(shapely.Point(x, y), communes)
        if code is not None and counts.get(code, 0) > 0:
            owned.setdefault(code, []).append((x, y, value))
    out = []
    for code, geom in zip(communes["ma_xa"], communes.geometry, strict=True):
        count = counts.get(str(code), 0.0)
        if count <= 0:
            continue
        mine = owned.get(str(code), [])
        if not mine:
            p = geom.point_on_surface()
            out.append((p.x, p.y, count, str(code)))
            continue
        total = sum(v for _, _, v in mine)
        out += [(x, y, count * v / total, str(code)) for x, y, v in mine]
    return out


def brute_pixels(path: Path) -> list[tuple[float, float, float]]:
    """Every pixel's centre and value as GDAL defines it (NaN where masked)."""
    out = []
    with rasterio.open(path) as ds:
        band = ds.read(1, masked=True)
        scale, offset = ds.scales[0], ds.offsets[0]
        for r in range(ds.height):
            for c in range(ds.width):
                x, y = ds.xy(r, c, offset="center")
                masked = bool(np.ma.getmaskarray(band)[r, c])
                value = np.nan if masked else float(band.data[r, c]) * scale + offset
                out.append((float(x), float(y), value))
    return out
