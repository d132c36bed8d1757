"""Feature indexes: per-feature GeoJSON bytes precomputed once, selected by bbox and filters.

Every collection of the OGC API (communes, districts, cells, gaps) is one
:class:`FeatureIndex`. The bytes come from the results contract (``geodx.contract``),
the same single RFC 7946 pass that wrote the run's GeoJSON files.
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
from geodx.contract_geojson import (
    collection_bytes,
    serialise,
    with_members,
)
from geodx.contract_names import DECIMALS

FILTER_KINDS = ("bool", "int", "number", "str")


class BBox(NamedTuple):
    """A lon/lat box in CRS84: ``(west, south, east, north)``."""

    west: float
    south: float
    east: float
    north: float


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
    members: dict[str, Any] = field(default_factory=dict)
    positions: dict[str, int] = field(init=False)
    tree: shapely.STRtree = field(init=False)

    def __post_init__(self) -> None:
        self.positions = {fid: i for i, fid in enumerate(self.ids)}
        self.tree = shapely.STRtree(self.geoms)

    @classmethod
    def build(
        cls,
        props: pd.DataFrame,
        geoms: Sequence[Any] | np.ndarray,
        id_col: str,
        *,
        members: Mapping[str, Any] | None = None,
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
        members : mapping, optional
            Top-level members of every page and single feature (``synthetic``).
        """
        props = props.reset_index(drop=True)
        ids = [str(v) for v in props[id_col]]
        fixed, features = serialise(geoms, props, ids)
        kinds = {
            c: k for c in props.columns if (k := _column_kind(props[c])) is not None
        }
        return cls(ids, features, props, fixed, kinds, dict(members or {}))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def extent(self) -> list[float] | None:
        """``[west, south, east, north]`` of every feature, or None when empty."""
        if not self.ids:
            return None
        return [round(float(v), DECIMALS) for v in shapely.total_bounds(self.geoms)]

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
        """The bytes of one feature with the collection's top-level members, or None."""
        pos = self.positions.get(fid)
        return None if pos is None else with_members(self.features[pos], self.members)


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
    return collection_bytes(features, trailing=extra)


def feature_with_links(feature: bytes, links: list[dict[str, str]]) -> bytes:
    """Append a ``links`` member to one serialised feature."""
    return feature[:-1] + b',"links":' + orjson.dumps(links) + b"}"
