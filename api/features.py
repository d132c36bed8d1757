"""Feature indexes: per-feature GeoJSON bytes precomputed once, selected by bbox and filters.

Every collection of the OGC API (communes, districts, cells, gaps) is one
:class:`FeatureIndex`. Geometry follows RFC 7946: lon/lat, exterior rings
counter-clockwise, at most 7 decimals, no NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import orjson
import pandas as pd
import shapely

from api.errors import BadRequest

COORD_DECIMALS = 7
FILTER_KINDS = ("bool", "int", "number", "str")


class BBox(NamedTuple):
    """A lon/lat box in CRS84: ``(west, south, east, north)``."""

    west: float
    south: float
    east: float
    north: float


def clean_value(value: Any) -> Any:
    """Turn NaN/inf and numpy scalars into JSON-safe Python values."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def rfc7946_geometries(geoms: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Round to 7 decimals and orient exterior rings counter-clockwise.

    Parameters
    ----------
    geoms : array of shapely geometries, lon/lat.

    Returns
    -------
    ndarray
        The same geometries, ready for GeoJSON.
    """
    arr = np.asarray(geoms, dtype=object)
    rounded = shapely.transform(arr, lambda xy: np.round(xy, COORD_DECIMALS))
    return np.asarray(shapely.orient_polygons(rounded, exterior_cw=False), dtype=object)


def _column_kind(values: pd.Series) -> str | None:
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    present = [v for v in values if v is not None and v == v]  # v == v drops NaN
    if all(isinstance(v, str) for v in present):
        return "str"
    if all(isinstance(v, bool | np.bool_) for v in present):
        return "bool"
    if all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in present
    ):
        return "int"
    if all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool)
        for v in present
    ):
        return "number"
    return None


def json_records(props: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of JSON-safe Python values (NaN, inf and NA -> None)."""
    columns: dict[str, list[Any]] = {}
    for name in props.columns:
        col = props[name]
        if pd.api.types.is_float_dtype(col.dtype):
            arr = col.to_numpy(dtype=float)
            columns[name] = [v if math.isfinite(v) else None for v in arr.tolist()]
        elif pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_integer_dtype(
            col.dtype
        ):
            columns[name] = col.tolist()
        else:
            columns[name] = [clean_value(v) for v in col.tolist()]
    names = list(columns)
    return [
        dict(zip(names, row, strict=True))
        for row in zip(*columns.values(), strict=True)
    ]


def parse_filter_value(name: str, kind: str, raw: str) -> Any:
    """Parse a query-string value for a property filter, by the property's kind."""
    if raw.lower() == "null":
        return None
    try:
        if kind == "bool":
            lowered = raw.lower()
            if lowered not in ("true", "false"):
                raise ValueError(raw)
            return lowered == "true"
        if kind == "int":
            return int(raw)
        if kind == "number":
            number = float(raw)
            if not math.isfinite(number):
                raise ValueError(raw)
            return number
    except ValueError:
        raise BadRequest(f"filter {name}={raw[:40]!r} is not a valid {kind}") from None
    return raw


@dataclass
class FeatureIndex:
    """One collection: feature bytes, filterable properties and a spatial index."""

    ids: list[str]
    features: list[bytes]
    props: pd.DataFrame
    geoms: np.ndarray
    kinds: dict[str, str]
    positions: dict[str, int] = field(init=False)
    tree: shapely.STRtree = field(init=False)

    def __post_init__(self) -> None:
        self.positions = {fid: i for i, fid in enumerate(self.ids)}
        self.tree = shapely.STRtree(self.geoms)

    @classmethod
    def build(
        cls, props: pd.DataFrame, geoms: Sequence[Any] | np.ndarray, id_col: str
    ) -> FeatureIndex:
        """Serialise every feature once.

        Parameters
        ----------
        props : DataFrame
            One row per feature, its GeoJSON properties (in column order).
        geoms : array of shapely geometries
            Lon/lat, one per row.
        id_col : str
            Column whose value becomes the feature ``id``.
        """
        props = props.reset_index(drop=True)
        fixed = rfc7946_geometries(geoms)
        ids = [str(v) for v in props[id_col]]
        texts = shapely.to_geojson(fixed)
        blank = shapely.is_missing(fixed) | shapely.is_empty(fixed)
        geometry_json = [
            b"null" if no else str(t).encode()
            for t, no in zip(texts, blank, strict=True)
        ]
        features = [
            b'{"type":"Feature","id":' + orjson.dumps(fid) + b',"geometry":' + geom
            + b',"properties":' + orjson.dumps(rec, option=orjson.OPT_SERIALIZE_NUMPY) + b"}"
            for fid, geom, rec in zip(ids, geometry_json, json_records(props), strict=True)
        ]  # fmt: skip
        kinds = {
            c: k for c in props.columns if (k := _column_kind(props[c])) is not None
        }
        return cls(ids, features, props, fixed, kinds)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def extent(self) -> list[float] | None:
        """``[west, south, east, north]`` of every feature, or None when empty."""
        if not self.ids:
            return None
        return [
            round(float(v), COORD_DECIMALS) for v in shapely.total_bounds(self.geoms)
        ]

    def select(self, bbox: BBox | None, filters: Mapping[str, str]) -> np.ndarray:
        """Positions of the features that intersect ``bbox`` and match every filter.

        Raises
        ------
        BadRequest
            A filter names no property of this collection, or its value does not parse.
        """
        keep = np.ones(len(self.ids), dtype=bool)
        for name, raw in filters.items():
            kind = self.kinds.get(name)
            if kind is None:
                raise BadRequest(f"unknown query parameter or property '{name[:60]}'")
            value = parse_filter_value(name, kind, raw)
            if value is None:
                keep &= pd.isna(self.props[name]).to_numpy()
            else:
                column = self.props[name].to_numpy(dtype=object)
                keep &= np.asarray(column == value, dtype=bool)
        if bbox is not None:
            hit = np.zeros(len(self.ids), dtype=bool)
            for box in _split_antimeridian(bbox):
                hit[self.tree.query(shapely.box(*box), predicate="intersects")] = True
            keep &= hit
        return np.flatnonzero(keep)

    def feature(self, fid: str) -> bytes | None:
        """The bytes of one feature, or None."""
        pos = self.positions.get(fid)
        return None if pos is None else self.features[pos]


def _split_antimeridian(bbox: BBox) -> list[BBox]:
    """A box with west > east crosses the antimeridian: two boxes."""
    if bbox.west <= bbox.east:
        return [bbox]
    return [
        BBox(bbox.west, bbox.south, 180.0, bbox.north),
        BBox(-180.0, bbox.south, bbox.east, bbox.north),
    ]


def parse_bbox(raw: str) -> BBox:
    """Parse ``west,south,east,north`` (or 6 values with heights) in CRS84.

    Raises
    ------
    BadRequest
        Wrong count, not numbers, NaN/inf, or out of range.
    """
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise BadRequest(
            f"bbox has {len(parts)} values; expected 4 (west,south,east,north)"
        )
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise BadRequest("bbox values must be numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise BadRequest("bbox values must be finite numbers")
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    west, south, east, north = values
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise BadRequest("bbox longitudes must be within -180..180")
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise BadRequest("bbox latitudes must be within -90..90")
    if south > north:
        raise BadRequest("bbox south is greater than north")
    return BBox(west, south, east, north)


def collection_body(features: Sequence[bytes], extra: Mapping[str, Any]) -> bytes:
    """A FeatureCollection from precomputed feature bytes plus top-level members."""
    tail = orjson.dumps(dict(extra))
    head = b'{"type":"FeatureCollection","features":[' + b",".join(features) + b"]"
    return head + (b"," + tail[1:] if len(tail) > 2 else b"}")


def feature_with_links(feature: bytes, links: list[dict[str, str]]) -> bytes:
    """Append a ``links`` member to one serialised feature."""
    return feature[:-1] + b',"links":' + orjson.dumps(links) + b"}"
