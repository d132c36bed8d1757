"""RFC 7946 GeoJSON bytes: lon/lat, counter-clockwise outer rings, 7 decimals, no NaN."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import orjson
import pandas as pd
import shapely

DECIMALS = 7


def rfc7946(geoms: np.ndarray) -> np.ndarray:
    """Orient outer rings counter-clockwise and round coordinates to 7 decimals."""
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    return np.asarray(
        shapely.transform(geoms, lambda c: np.round(c, DECIMALS)), dtype=object
    )


def clean(value: Any) -> Any:
    """JSON-safe value: NaN and pandas NA become null, numpy scalars plain numbers."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def feature_collection(
    geoms: np.ndarray,
    properties: Iterable[Mapping[str, Any]],
    *,
    ids: Iterable[Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """Serialise WGS84 geometries and property dicts as a FeatureCollection (UTF-8 bytes)."""
    geoms = rfc7946(geoms)
    id_list = list(ids) if ids is not None else [None] * len(geoms)
    features = []
    for geom, props, fid in zip(geoms, properties, id_list, strict=True):
        feature: dict[str, Any] = {"type": "Feature"}
        if fid is not None:
            feature["id"] = clean(fid)
        feature["geometry"] = None if geom is None else shapely.geometry.mapping(geom)
        feature["properties"] = {k: clean(v) for k, v in props.items()}
        features.append(feature)
    doc: dict[str, Any] = {
        "type": "FeatureCollection",
        **(extra or {}),
        "features": features,
    }
    return orjson.dumps(doc)
