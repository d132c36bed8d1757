"""Reading a results folder's GeoJSON files: exact JSON properties, shapely geometries.

The national ``communes.geojson`` holds 3,321 (multi)polygons; building them one ring
at a time with ``shapely.geometry.shape`` took 2.8 s of a worker's start-up. Polygons
and multipolygons are built at once from one coordinate array
(:func:`polygon_shapes`), the same geometries; anything else goes through ``shape``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import shapely
from shapely.geometry import shape

from geodx.errors import InputFileError, MissingColumn

__all__ = ["polygon_shapes", "read_features", "read_json"]


def read_json(path: Path) -> Any:
    """A results file's JSON (NaN literals, as Python's json writes them, read as null).

    Raises
    ------
    InputFileError
        The file is unreadable or not JSON.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(
            f"{path}: cannot read results file ({exc.strerror})"
        ) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:  # Python's json writes NaN literals; accept and clean them
            return _no_nan(json.loads(raw))
        except ValueError as exc:
            raise InputFileError(f"{path}: not valid JSON ({exc})") from None


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def read_features(
    path: Path, required: tuple[str, ...]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Properties (exact JSON values) and shapely geometries of a GeoJSON file."""
    doc = read_json(path)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputFileError(f"{path}: not a GeoJSON FeatureCollection")
    feats = doc.get("features") or []
    props = pd.DataFrame.from_records([f.get("properties") or {} for f in feats])
    props = props.astype(object).where(props.notna(), None) if len(props) else props
    for col in required:
        if col not in props.columns:
            if not feats:
                props[col] = pd.Series(dtype=object)
                continue
            raise MissingColumn(f"{path}: property '{col}' is missing")
    return props, polygon_shapes([f.get("geometry") for f in feats])


def _shapes_one_by_one(geometries: list[Any]) -> np.ndarray:
    return np.asarray([shape(g) if g else None for g in geometries], dtype=object)


def _parts(geometry: Any) -> list[Any] | None:
    """A polygon's or multipolygon's polygons (lists of rings), else None."""
    if not isinstance(geometry, dict):
        return None
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or not coords:
        return None
    kind = geometry.get("type")
    if kind == "Polygon":
        return [coords]
    if kind == "MultiPolygon" and all(isinstance(p, list) and p for p in coords):
        return coords
    return None


def _ring_array(ring: Any) -> np.ndarray | None:
    """A closed ring of at least 4 2-D positions as an (n, 2) array, else None."""
    try:
        arr = np.asarray(ring, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) < 4:
        return None
    return arr if (arr[0] == arr[-1]).all() else None


def polygon_shapes(geometries: list[Any]) -> np.ndarray:
    """``shapely.geometry.shape`` of each GeoJSON geometry (None for none), built at once.

    Closed 2-D polygons and multipolygons are assembled from one coordinate array with
    ``shapely.from_ragged_array`` (the same coordinates, rings and types as ``shape``);
    when any geometry is of another kind or shape, every one goes through ``shape``.

    Examples
    --------
    >>> square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    >>> got = polygon_shapes([{"type": "Polygon", "coordinates": [square]},
    ...                       {"type": "MultiPolygon", "coordinates": [[square]]}, None])
    >>> [g.wkt if g is not None else None for g in got]
    ['POLYGON ((0 0, 1 0, 1 1, 0 0))', 'MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)))', None]
    """
    parts = [_parts(g) for g in geometries]
    present = [i for i, g in enumerate(geometries) if g]
    if any(parts[i] is None for i in present) or not present:
        return _shapes_one_by_one(geometries)
    rings = [_ring_array(r) for i in present for poly in parts[i] or [] for r in poly]
    if any(r is None for r in rings):
        return _shapes_one_by_one(geometries)
    arrays = [r for r in rings if r is not None]
    ring_ends = np.cumsum([len(r) for r in arrays])
    poly_ends = np.cumsum([len(poly) for i in present for poly in parts[i] or []])
    polygons = shapely.from_ragged_array(
        shapely.GeometryType.POLYGON,
        np.concatenate(arrays),
        (np.concatenate([[0], ring_ends]), np.concatenate([[0], poly_ends])),
    )
    out = np.full(len(geometries), None, dtype=object)
    first = 0
    for i in present:
        count = len(parts[i] or [])
        own = polygons[first : first + count]
        first += count
        is_multi = geometries[i]["type"] == "MultiPolygon"
        out[i] = shapely.multipolygons(own) if is_multi else own[0]
    return out
