"""Coordinate reference systems: moving geometries between them, telling metres apart."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Transformer

from geodx.errors import CRSError


def reproject(geoms: np.ndarray, source: CRS, target: CRS) -> np.ndarray:
    """Geometries moved vertex by vertex from ``source`` to ``target`` (``always_xy``).

    The same transformation ``GeoDataFrame.to_crs`` applies.

    Raises
    ------
    CRSError
        When a vertex cannot be transformed.
    """
    if CRS(source) == CRS(target):
        return geoms
    transformer = Transformer.from_crs(source, target, always_xy=True)
    coords = shapely.get_coordinates(geoms)
    x, y = transformer.transform(coords[:, 0], coords[:, 1])
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise CRSError(
            f"geometries cannot be transformed from {CRS(source).name} to {CRS(target).name}"
        )
    moved = shapely.set_coordinates(
        np.array(geoms, dtype=object), np.column_stack([x, y])
    )
    return np.asarray(moved, dtype=object)


def is_metric(crs: CRS) -> bool:
    """Whether ``crs`` is projected with metre units."""
    if not crs.is_projected:
        return False
    unit = crs.axis_info[0].unit_name.lower() if crs.axis_info else ""
    return unit in {"metre", "meter", "m"}
