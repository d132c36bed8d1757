"""The body of ``POST /scenarios``: layers with GeoJSON features, checked before any work.

The manifest's own rules (``geodx.manifest.with_layers``: ids, kinds, technologies,
ranges, clashes with the region's layers) are applied by the service; here the shape
of the body, the GeoJSON (RFC 7946, WGS84: finite positions in range, closed rings,
valid polygons), one geometry family per layer and the kinds' families, and the
counts the limits bound (layers, features, vertices).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from shapely.geometry import shape

from api.scenario_types import NewLayer

FAMILIES = {
    "Point": "points",
    "MultiPoint": "points",
    "LineString": "lines",
    "MultiLineString": "lines",
    "Polygon": "polygons",
    "MultiPolygon": "polygons",
}
# Nesting depth of ``coordinates`` below the positions, per geometry type.
_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
#: Sector columns a layer with ``model`` reads from its points' properties (DESIGN.md).
SECTOR_PROPERTIES = (
    "height_m",
    "frequency_mhz",
    "rs_eirp_dbm",
    "azimuth_deg",
    "beamwidth_deg",
)


def _positions(coords: Any, depth: int) -> list[list[Any]]:
    """Every position of a coordinates array nested ``depth`` levels."""
    if depth == 0:
        return [coords]
    if not isinstance(coords, list):
        raise ValueError("'coordinates' is not nested as its type requires")
    return [p for part in coords for p in _positions(part, depth - 1)]


def _check_position(pos: Any) -> None:
    ok = isinstance(pos, list) and len(pos) in (2, 3)
    ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
    if not ok or not all(math.isfinite(v) for v in pos):
        raise ValueError(f"position {str(pos)[:40]} is not [lon, lat] numbers")
    if not (-180 <= pos[0] <= 180 and -90 <= pos[1] <= 90):
        raise ValueError(f"position {pos[:2]} is outside WGS84 lon/lat ranges")


def check_geometry(geom: Any) -> tuple[str, int]:
    """A GeoJSON geometry's family (points, lines, polygons) and vertex count.

    Raises
    ------
    ValueError
        Not a geometry geodx reads, malformed, out of range or not valid.

    Examples
    --------
    >>> check_geometry({"type": "LineString", "coordinates": [[108, 12], [108.1, 12]]})
    ('lines', 2)
    """
    if not isinstance(geom, dict) or geom.get("type") not in FAMILIES:
        kind = geom.get("type") if isinstance(geom, dict) else None
        raise ValueError(
            f"geometry type {str(kind)[:40]!r}; expected one of {', '.join(FAMILIES)}"
        )
    kind = geom["type"]
    positions = _positions(geom.get("coordinates"), _DEPTH[kind])
    for pos in positions:
        _check_position(pos)
    if kind in ("Polygon", "MultiPolygon"):
        polygons = (
            geom["coordinates"] if kind == "MultiPolygon" else [geom["coordinates"]]
        )
        for ring in (r for polygon in polygons for r in polygon):
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise ValueError(f"{kind} has a ring not closed or under 4 positions")
    try:
        shaped = shape(geom)
    except (ValueError, TypeError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise ValueError(f"{kind} is malformed ({str(exc)[:80]})") from None
    if shaped.is_empty:
        raise ValueError(f"{kind} is empty")
    if not shaped.is_valid:
        reason = shapely.is_valid_reason(shaped)
        raise ValueError(f"{kind} is not valid ({reason[:80]})")
    return FAMILIES[kind], len(positions)


class Feature(BaseModel):
    """A GeoJSON Feature; only its geometry (and sector properties) are used."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: dict[str, Any] | None = None
    id: str | int | None = None
    bbox: list[float] | None = None


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection in WGS84 (RFC 7946: no ``crs`` member)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["FeatureCollection"]
    features: list[Feature] = Field(min_length=1)
    name: str | None = None
    bbox: list[float] | None = None


class ScenarioLayer(BaseModel):
    """A layer to add, with the keys of a manifest ``[[layers]]`` entry but ``path``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=80)
    kind: Literal["fibre", "mobile"]
    operator: str | None = Field(default=None, max_length=80)
    technology: str | None = Field(default=None, max_length=8)
    service_distance_m: float | None = None
    min_rsrp_dbm: float | None = None
    model: str | None = Field(default=None, max_length=40)
    environment: str | None = Field(default=None, max_length=40)
    indoor_loss_db: float | None = None
    features: FeatureCollection

    @model_validator(mode="after")
    def _families(self) -> ScenarioLayer:
        """One geometry family; mobile: polygons, or sector points with ``model``."""
        families = set()
        for i, feature in enumerate(self.features.features):
            try:
                families.add(check_geometry(feature.geometry)[0])
            except ValueError as exc:
                raise ValueError(f"layer '{self.id}' feature #{i + 1}: {exc}") from None
        if len(families) > 1:
            raise ValueError(
                f"layer '{self.id}' mixes {' and '.join(sorted(families))}; a layer "
                "holds only polygons, only lines or only points"
            )
        family = families.pop()
        wanted = {"fibre": {"points", "lines", "polygons"}, "mobile": {"polygons"}}
        if self.model is not None:
            wanted["mobile"] = {"points"}
        if family not in wanted[self.kind]:
            allowed = " or ".join(sorted(wanted[self.kind]))
            raise ValueError(
                f"layer '{self.id}': a {self.kind} layer"
                f"{' with a model' if self.model else ''} holds {allowed}, not {family}"
            )
        if self.min_rsrp_dbm is not None and self.model is None:
            raise ValueError(
                f"layer '{self.id}': 'min_rsrp_dbm' is for sector layers ('model') "
                "only; polygons cover everything inside them"
            )
        if self.service_distance_m is not None and family == "polygons":
            raise ValueError(
                f"layer '{self.id}': 'service_distance_m' is for lines and points only"
            )
        return self

    def vertices(self) -> int:
        """Vertices of every feature."""
        return sum(check_geometry(f.geometry)[1] for f in self.features.features)

    def to_new_layer(self) -> NewLayer:
        """The manifest keys (unset ones left out) and the features as written."""
        table = self.model_dump(exclude={"features"}, exclude_none=True)
        keep = SECTOR_PROPERTIES if self.model is not None else ()
        features = [
            {
                "type": "Feature",
                # only type and coordinates: no member of the body reaches GDAL
                "geometry": {
                    "type": f.geometry["type"],
                    "coordinates": f.geometry["coordinates"],
                },
                "properties": {k: (f.properties or {}).get(k) for k in keep},
            }
            for f in self.features.features
        ]
        return NewLayer(table, {"type": "FeatureCollection", "features": features})


class ScenarioRequest(BaseModel):
    """``{"name": ..., "layers": [...]}``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    layers: list[ScenarioLayer] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        """A name is one line of text."""
        if any(ch in value for ch in "\r\n\x00"):
            raise ValueError("name must be one line")
        return value

    def features(self) -> int:
        """Features of every layer."""
        return sum(len(layer.features.features) for layer in self.layers)


def _count_positions(coords: Any) -> int:
    """Positions in a coordinates array of any nesting (malformed parts count 0)."""
    if not isinstance(coords, list):
        return 0
    if coords and all(isinstance(v, int | float) for v in coords):
        return 1
    return sum(_count_positions(part) for part in coords)


def raw_counts(doc: Any) -> tuple[int, int, int]:
    """Layers, features and vertices of a parsed body, before any validation."""
    layers = doc.get("layers") if isinstance(doc, dict) else None
    if not isinstance(layers, list):
        return 0, 0, 0
    features = vertices = 0
    for layer in layers:
        collection = layer.get("features") if isinstance(layer, dict) else None
        found = collection.get("features") if isinstance(collection, dict) else None
        for feature in found if isinstance(found, list) else []:
            features += 1
            geom = feature.get("geometry") if isinstance(feature, dict) else None
            if isinstance(geom, dict):
                vertices += _count_positions(geom.get("coordinates"))
    return len(layers), features, vertices
