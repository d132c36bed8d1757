"""GeoJSON (RFC 7946) of the results: one pass, one order, JSON-safe values."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
import shapely

from geodx.contract_names import DECIMALS


def rfc7946(geoms: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Round coordinates to 7 decimals, then orient exterior rings counter-clockwise.

    Orienting after rounding keeps the written rings counter-clockwise.
    """
    arr = np.asarray(geoms, dtype=object)
    rounded = shapely.transform(arr, lambda xy: np.round(xy, DECIMALS))
    return np.asarray(shapely.orient_polygons(rounded, exterior_cw=False), dtype=object)


def clean(value: Any) -> Any:
    """JSON-safe value: NaN, inf and pandas NA become null, numpy scalars plain."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def records(props: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of JSON-safe Python values (NaN, inf and NA -> None)."""
    columns: dict[str, list[Any]] = {}
    for name in props.columns:
        col = props[name]
        kind = getattr(col.dtype, "kind", "O")
        if kind == "f":
            arr = col.to_numpy(dtype=float)
            columns[str(name)] = [v if math.isfinite(v) else None for v in arr.tolist()]
        elif kind in "biu" and isinstance(col.dtype, np.dtype):
            columns[str(name)] = col.tolist()
        else:
            columns[str(name)] = [clean(v) for v in col.tolist()]
    names = list(columns)
    return [
        dict(zip(names, r, strict=True)) for r in zip(*columns.values(), strict=True)
    ]


def feature_bytes(
    geoms: Sequence[Any] | np.ndarray,
    props: pd.DataFrame,
    ids: Iterable[Any] | None = None,
) -> list[bytes]:
    """Serialise each row of ``props`` with its WGS84 geometry as a GeoJSON Feature.

    ``id`` is the string of ``ids``' value (left out where None); empty or missing
    geometries are ``null``.
    """
    return serialise(geoms, props, ids)[1]


def serialise(
    geoms: Sequence[Any] | np.ndarray,
    props: pd.DataFrame,
    ids: Iterable[Any] | None = None,
) -> tuple[np.ndarray, list[bytes]]:
    """The :func:`rfc7946` geometries and the :func:`feature_bytes` of the features."""
    fixed = rfc7946(geoms)
    texts = shapely.to_geojson(fixed)
    blank = shapely.is_missing(fixed) | shapely.is_empty(fixed)
    id_list = list(ids) if ids is not None else [None] * len(fixed)
    out = []
    for fid, text, no, rec in zip(id_list, texts, blank, records(props), strict=True):
        head = b'{"type":"Feature",'
        if clean(fid) is not None:
            head += b'"id":' + orjson.dumps(str(clean(fid))) + b","
        geom = b"null" if no else str(text).encode()
        out.append(head + b'"geometry":' + geom + b',"properties":' + orjson.dumps(rec) + b"}")  # fmt: skip
    return fixed, out


def collection_bytes(
    features: Sequence[bytes],
    *,
    members: Mapping[str, Any] | None = None,
    trailing: Mapping[str, Any] | None = None,
) -> bytes:
    """A FeatureCollection of serialised features.

    Top-level ``members`` (e.g. ``synthetic``) come before ``features``, ``trailing``
    members after them.

    Examples
    --------
    >>> collection_bytes([], members={"synthetic": True})
    b'{"type":"FeatureCollection","synthetic":true,"features":[]}'
    """
    head = orjson.dumps({"type": "FeatureCollection", **(members or {})})[:-1]
    tail = orjson.dumps(dict(trailing or {}))
    body = head + b',"features":[' + b",".join(features) + b"]"
    return body + (b"," + tail[1:] if len(tail) > 2 else b"}")


def with_members(feature: bytes, members: Mapping[str, Any]) -> bytes:
    """Append top-level members to one serialised feature (or collection)."""
    if not members:
        return feature
    return feature[:-1] + b"," + orjson.dumps(dict(members))[1:]
