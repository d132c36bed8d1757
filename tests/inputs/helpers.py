"""Small input files written to ``tmp_path`` for the reader tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from geodx.manifest_specs import (
    CommunesSpec,
    HouseholdsSpec,
)

SQUARE = shapely.box(108.00, 12.60, 108.02, 12.62)


def communes_file(path: Path, geoms: list[Any] | None = None, **kw: Any) -> Path:
    """Two (or ``len(geoms)``) communes with codes and names, in EPSG:4326."""
    geoms = geoms or [SQUARE, shapely.box(108.02, 12.60, 108.04, 12.62)]
    frame = gpd.GeoDataFrame(
        {
            "ma_xa": [f"2400{i}" for i in range(len(geoms))],
            "ten_xa": [f"Xã {i}" for i in range(len(geoms))],
        },
        geometry=geoms,
        crs=kw.pop("crs", 4326),
    )
    frame.to_file(path, **kw)
    return path


def communes(path: Path, layer: str | None = None) -> CommunesSpec:
    """The spec of a communes file with the default column names."""
    return CommunesSpec(path=path, code="ma_xa", name="ten_xa", layer=layer)


def households(path: Path, weight: str | None = None) -> HouseholdsSpec:
    """The spec of a households file with lon/lat columns."""
    return HouseholdsSpec(path=path, weight=weight)
