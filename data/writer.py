"""Writing a demo region to disk, byte for byte the same for the same seed.

GeoPackage stamps the write time into its metadata; GDAL's ``OGR_CURRENT_DATE`` pins it.
Everything else written here (GeoJSON, FlatGeobuf, GeoParquet, Parquet, GeoTIFF) is
deterministic already.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import polars as pl
import pyogrio
import pyproj
import rasterio
from numpy.typing import NDArray

from data.radio import NODATA, RasterGrid

FIXED_DATE = "2025-01-01T00:00:00.000Z"


@contextmanager
def fixed_write_date() -> Iterator[None]:
    """Pin the timestamp GDAL writes into GeoPackages; restore the setting after."""
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def write_vector(frame: gpd.GeoDataFrame, path: Path, crs: pyproj.CRS | int) -> None:
    """Write ``frame`` reprojected to ``crs``; the format follows the file suffix."""
    out = frame.to_crs(crs)
    if path.suffix == ".parquet":
        out.to_parquet(path, compression="zstd", write_covering_bbox=False)
        return
    with fixed_write_date():
        out.to_file(path, layer=path.stem, engine="pyogrio")


def write_households(
    path: Path,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    weight: NDArray[np.int64],
) -> None:
    """Write the household table (``lon``, ``lat``, ``households``) as Parquet."""
    table = pl.DataFrame(
        {"lon": lon, "lat": lat, "households": weight.astype(np.int32)}
    )
    table.write_parquet(path, compression="zstd", statistics=True)


def write_raster(path: Path, values: NDArray[np.float32], grid: RasterGrid) -> None:
    """Write a single-band float32 GeoTIFF of RSRP in dBm, deflate-compressed, tiled."""
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": "float32",
        "crs": grid.crs.to_wkt(),
        "transform": grid.transform,
        "nodata": NODATA,
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
        dst.set_band_description(1, "RSRP (dBm), synthetic")
        dst.update_tags(units="dBm", synthetic="true")


def toml_value(value: object) -> str:
    """Render a str, bool, int or float as a TOML literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(
            value, ensure_ascii=False
        )  # JSON strings are TOML basic strings
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def manifest_text(
    tables: Mapping[str, Mapping[str, object]], layers: Sequence[Mapping[str, object]]
) -> str:
    """Render ``region.toml``: the tables, with ``[[layers]]`` before ``[targets]``."""
    out: list[str] = []
    for name, table in tables.items():
        if name == "targets":
            for layer in layers:
                out.append("[[layers]]")
                out += [f"{k} = {toml_value(v)}" for k, v in layer.items()]
                out.append("")
        out.append(f"[{name}]")
        out += [f"{k} = {toml_value(v)}" for k, v in table.items()]
        out.append("")
    return "\n".join(out)


def write_json(path: Path, data: Mapping[str, object]) -> None:
    """Write ``data`` as sorted, indented UTF-8 JSON."""
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def formula_safe(value: object) -> str:
    """Return a CSV cell a spreadsheet will not run as a formula.

    Text starting with ``= + - @``, tab or CR gets a leading ``'`` (the OWASP rule);
    numbers stay as they are.

    Examples
    --------
    >>> formula_safe("=HYPERLINK(1)"), formula_safe(-3), formula_safe("Xã Ea Kao")
    ("'=HYPERLINK(1)", '-3', 'Xã Ea Kao')
    """
    text = str(value)
    if text.startswith(FORMULA_START) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Write a UTF-8 CSV (with BOM, for spreadsheets) of formula-safe cells."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows([formula_safe(v) for v in row] for row in rows)
