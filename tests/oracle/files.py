"""Writers for the small region files the oracle worlds are made of."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import shapely
from affine import Affine

WGS84 = pyproj.CRS.from_epsg(4326)


def to_crs(
    xs: Sequence[float], ys: Sequence[float], src: int, dst: int
) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinates between two EPSG codes (``always_xy``)."""
    transformer = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    x2, y2 = transformer.transform(np.asarray(xs, float), np.asarray(ys, float))
    return np.asarray(x2), np.asarray(y2)


def write_vector(
    path: Path, geoms: Iterable[Any], crs: int | None, **columns: Any
) -> Path:
    """Write geometries with attribute columns; the driver follows the file suffix."""
    frame = gpd.GeoDataFrame(dict(columns), geometry=list(geoms), crs=crs)
    with warnings.catch_warnings():
        # a file without a CRS is written on purpose by the bad-input tests
        warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
        if path.suffix == ".parquet":
            frame.to_parquet(path)
        else:
            frame.to_file(path)
    return path


def write_table(path: Path, columns: dict[str, Any]) -> Path:
    """Write a plain CSV or Parquet table (households with lon/lat columns)."""
    frame = pd.DataFrame(columns)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def write_raster(
    path: Path,
    values: np.ndarray,
    transform: Affine,
    crs: int | None,
    nodata: float | None,
) -> Path:
    """Write a one-band GeoTIFF."""
    profile = {
        "driver": "GTiff",
        "height": values.shape[0],
        "width": values.shape[1],
        "count": 1,
        "dtype": values.dtype.name,
        "transform": transform,
        "crs": None if crs is None else rasterio.crs.CRS.from_epsg(crs),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    raise TypeError(f"no TOML for {value!r}")


def dump_toml(doc: dict[str, Any]) -> str:
    """Serialise a manifest: tables of scalars and arrays of tables."""
    lines: list[str] = []
    for section, body in doc.items():
        items = body if isinstance(body, list) else [body]
        header = f"[[{section}]]" if isinstance(body, list) else f"[{section}]"
        for item in items:
            lines.append(header)
            lines.extend(f"{key} = {_toml_value(v)}" for key, v in item.items())
            lines.append("")
    return "\n".join(lines)


def write_manifest(folder: Path, doc: dict[str, Any]) -> Path:
    """Write ``region.toml`` into ``folder`` and return its path."""
    path = folder / "region.toml"
    path.write_text(dump_toml(doc), encoding="utf-8")
    return path


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """An axis-aligned rectangle."""
    return shapely.box(x0, y0, x1, y1)
