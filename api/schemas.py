"""Pydantic response models: small JSON documents (GeoJSON bodies bypass pydantic)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


class ErrorMessage(BaseModel):
    """Every 4xx/5xx body: one line, safe to show."""

    detail: str = Field(description="What was wrong with the request.")


class Link(BaseModel):
    """A link of the OGC API (RFC 8288 fields)."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    """The OGC API landing page."""

    title: str
    description: str
    synthetic: bool = Field(description="True when the region's data are synthetic.")
    links: list[Link]


class Conformance(BaseModel):
    """Conformance classes the service implements."""

    conformsTo: list[str]  # noqa: N815 - name fixed by OGC API - Features


class SpatialExtent(BaseModel):
    """Bounding box of a collection, lon/lat."""

    bbox: list[list[float]]
    crs: str = CRS84


class Extent(BaseModel):
    """Extent of a collection."""

    spatial: SpatialExtent | None = None


class Collection(BaseModel):
    """Metadata of one feature collection."""

    id: str
    title: str
    description: str
    itemType: str = "feature"  # noqa: N815 - OGC name
    crs: list[str] = [CRS84]
    extent: Extent | None = None
    links: list[Link]


class Collections(BaseModel):
    """Every feature collection of the service."""

    links: list[Link]
    collections: list[Collection]


class CommuneBrief(BaseModel):
    """A commune found by name: code, names and headline figures."""

    commune_code: str
    commune_name: str
    district_code: str | None = None
    district_name: str | None = None
    households: int | float | None = None
    fibre_pct: float | None = None
    fibre_target_met: bool | None = None
    mobile_pct: float | None = None
    mobile_covered: bool | None = None


class CommuneSearch(BaseModel):
    """Communes whose name matches a query (case and diacritics ignored)."""

    query: str
    count: int
    communes: list[CommuneBrief]


class IndicatorFigures(BaseModel):
    """Covered households of one indicator in a commune."""

    indicator: str = Field(description="fibre, mobile (4G or 5G) or mobile_5g.")
    households: int | float | None = Field(description="Covered households.")
    pct: float | None = Field(description="Covered share of households, 0-100.")


class LayerFigures(BaseModel):
    """Households covered by one layer (one operator's network of one technology)."""

    id: str
    operator: str | None
    kind: str
    technology: str | None
    households: int | float | None
    pct: float | None
    indoor_households: int | float | None = Field(
        default=None,
        description="Covered indoors (layers with indoor_loss_db); null otherwise.",
    )


class OperatorFigures(BaseModel):
    """Households covered by any of one operator's fibre layers and 4G/5G layers."""

    operator: str
    slug: str
    fibre_households: int | float | None = Field(
        default=None, description="Null when the operator has no fibre layer."
    )
    fibre_pct: float | None = None
    mobile_households: int | float | None = Field(
        default=None, description="Null when the operator has no 4G/5G layer."
    )
    mobile_pct: float | None = None


class MobileViews(BaseModel):
    """Households by number of mobile operators, indoors, and at +-3 dB."""

    operators_0_households: int | float | None = None
    operators_1_households: int | float | None = None
    operators_2_households: int | float | None = None
    operators_3plus_households: int | float | None = None
    all_operators_households: int | float | None = None
    indoor_households: int | float | None = None
    indoor_pct: float | None = None
    households_minus3db: int | float | None = None
    households_plus3db: int | float | None = None
    covered_sensitive: bool | None = Field(
        default=None,
        description="Whether mobile_covered differs at -3 or +3 dB.",
    )
    measured_below_households: Count = Field(
        default=None,
        description="Covered by 4G/5G but measured below the speed (measured layers).",
    )


Count = int | float | None
# Properties whose names hold a layer, operator or measured-layer slug (the id or the
# operator lower-cased, every character outside [a-z0-9] an underscore).
PATTERN_FIELDS: dict[str, str] = {
    r"^layer_[a-z0-9_]+_households$": "layer_<slug>_households: households one layer "
    "covers; layer_<slug>_indoor_households: covered indoors by a layer with "
    "indoor_loss_db.",
    r"^layer_[a-z0-9_]+_pct$": "layer_<slug>_pct: its share of households, 0-100.",
    r"^operator_[a-z0-9_]+_(fibre|mobile)_households$": "operator_<slug>_fibre_"
    "households / _mobile_households: covered by any fibre / 4G-5G layer of the "
    "operator; null when it has no layer of that kind.",
    r"^operator_[a-z0-9_]+_(fibre|mobile)_pct$": "operator_<slug>_fibre_pct / "
    "_mobile_pct: their share of households, 0-100.",
    r"^measured_[a-z0-9_]+_households$": "measured_<slug>_households: in tiles "
    "measured at or above min_download_mbps; _below_households: slower; "
    "_too_few_tests_households: fewer than min_tests tests or no tile; "
    "_untested_households: no tile.",
}
_PATTERNS = [re.compile(p) for p in PATTERN_FIELDS]


def _numeric(value: Any) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool)
    )


class PatternFields(BaseModel):
    """A model whose named fields are fixed and whose other fields follow patterns.

    Fields matching :data:`PATTERN_FIELDS` must be numbers or null; other extra
    fields are kept (the outputs may gain fields) and listed by :meth:`unmodelled`.
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": True,
            "x-patternProperties": {
                p: {"type": "number", "nullable": True, "description": d}
                for p, d in PATTERN_FIELDS.items()
            },
        },
    )

    @model_validator(mode="after")
    def _pattern_fields_are_numbers(self) -> PatternFields:
        for key, value in (self.model_extra or {}).items():
            if any(p.match(key) for p in _PATTERNS) and not _numeric(value):
                raise ValueError(f"{key}: expected a number or null")
        return self

    @classmethod
    def unmodelled(cls, keys: Iterable[str]) -> list[str]:
        """The keys that are neither named fields nor pattern fields."""
        return [
            k
            for k in keys
            if k not in cls.model_fields and not any(p.match(k) for p in _PATTERNS)
        ]


class CommuneProperties(PatternFields):
    """Every property of a commune in ``communes.geojson`` (docs/definitions.md)."""

    commune_code: str
    commune_name: str
    district_code: str | None = None
    district_name: str | None = None
    households: Count = None
    fibre_households: Count = None
    fibre_pct: float | None = None
    fibre_target_met: bool | None = None
    fibre_gap_households: int | None = None
    mobile_households: Count = None
    mobile_pct: float | None = None
    mobile_5g_households: Count = None
    mobile_5g_pct: float | None = None
    mobile_covered: bool | None = None
    mobile_gap_households: int | None = None
    mobile_operators_0_households: Count = None
    mobile_operators_1_households: Count = None
    mobile_operators_2_households: Count = None
    mobile_operators_3plus_households: Count = None
    mobile_all_operators_households: Count = None
    mobile_indoor_households: Count = None
    mobile_indoor_pct: float | None = None
    mobile_households_minus3db: Count = None
    mobile_households_plus3db: Count = None
    mobile_covered_sensitive: bool | None = None
    mobile_covered_measured_below_households: Count = None


class MeasuredFigures(BaseModel):
    """Households of a commune by what one measured layer (speed tests) shows."""

    id: str
    slug: str
    min_download_mbps: float | None = None
    min_tests: int | float | None = None
    households: Count = Field(description="In tiles at or above the speed.")
    below_households: Count = Field(description="Enough tests, slower.")
    too_few_tests_households: Count = Field(description="Too few tests, or no tile.")
    untested_households: Count = Field(description="No tile (part of too few tests).")


class TargetStatus(BaseModel):
    """One target, applied to the commune."""

    indicator: str
    target_pct: float
    met: bool | None = Field(description="Null for a commune without households.")
    gap_households: int | None = Field(
        description="Households still to cover for this commune to meet the target."
    )


class CommuneReport(BaseModel):
    """One commune: figures, targets, gap, per-operator and per-technology breakdown."""

    model_config = ConfigDict(
        json_schema_extra={"description": "Coverage of one commune."}
    )

    commune_code: str
    commune_name: str
    district_code: str | None
    district_name: str | None
    region: str
    synthetic: bool
    households: int | float | None
    by_technology: list[IndicatorFigures]
    targets: list[TargetStatus]
    by_operator: dict[str, list[LayerFigures]]
    operators: list[OperatorFigures] = Field(default_factory=list)
    mobile_views: MobileViews | None = None
    measured: list[MeasuredFigures] = Field(
        default_factory=list, description="One entry per measured layer."
    )
    households_estimated: bool = Field(
        default=False, description="True when households were spread from counts."
    )
    properties: CommuneProperties | None = Field(
        default=None, description="Every property of the commune, as communes.geojson."
    )
    links: list[Link] = Field(default_factory=list)
    definitions: dict[str, Any]


class GapRow(BaseModel):
    """One commune below a target."""

    rank: int | None = Field(
        default=None,
        description="1 for the region's largest gap; equal gaps share a rank "
        "(1 + the number of communes with a larger gap), before any district filter.",
    )
    commune_code: str
    commune_name: str
    district_code: str | None
    district_name: str | None
    indicator: str
    households: int | float
    covered_households: int | float | None
    pct: float | None
    target_pct: float
    gap_households: int


class GapsTable(BaseModel):
    """Communes below a target, largest number of missing households first."""

    region: str
    synthetic: bool
    households_estimated: bool = Field(
        default=False, description="True when households were spread from counts."
    )
    indicator: str
    target_pct: float = Field(
        description="fibre: share of each commune's households; mobile: the commune "
        "rule (a commune counts as 4G/5G-covered at this share of its households)."
    )
    communes_target_pct: float | None = Field(
        default=None,
        description="mobile: the region's target, share of communes 4G/5G-covered.",
    )
    count: int
    gaps: list[GapRow]


class SummaryTargets(BaseModel):
    """The targets, in percent."""

    fibre_household_pct: float
    mobile_commune_pct: float
    mobile_commune_household_pct: float


class SummaryLayer(BaseModel):
    """One coverage layer as ``summary.json`` lists it."""

    model_config = ConfigDict(extra="allow")

    id: str
    slug: str
    kind: str
    technology: str | None = None
    operator: str | None = None
    source: str | None = None
    service_distance_m: float | None = None
    min_rsrp_dbm: float | None = None
    model: str | None = None
    environment: str | None = None
    indoor_loss_db: float | None = None
    households: Count = None
    pct: float | None = None
    indoor_households: Count = None


class SummaryOperator(BaseModel):
    """One operator: its slug and its layer ids by kind."""

    operator: str
    slug: str
    layers: dict[str, list[str]] = Field(default_factory=dict)


class RegionSummary(PatternFields):
    """The region's totals, targets, definitions and inputs (``summary.json``)."""

    region: str | None = None
    synthetic: bool | None = None
    source: str | None = None
    engine_version: str | None = None
    h3_resolution: int | None = None
    households: Count = None
    unassigned_households: Count = None
    overlap_households: Count = None
    household_points: int | None = None
    counts_exact: bool | None = None
    fibre_households: Count = None
    fibre_pct: float | None = None
    fibre_target_met: bool | None = None
    fibre_gap_households: int | None = None
    mobile_households: Count = None
    mobile_pct: float | None = None
    mobile_5g_households: Count = None
    mobile_5g_pct: float | None = None
    mobile_operators_0_households: Count = None
    mobile_operators_1_households: Count = None
    mobile_operators_2_households: Count = None
    mobile_operators_3plus_households: Count = None
    mobile_all_operators_households: Count = None
    mobile_indoor_households: Count = None
    mobile_indoor_pct: float | None = None
    mobile_households_minus3db: Count = None
    mobile_households_plus3db: Count = None
    mobile_covered_measured_below_households: Count = None
    communes: int | None = None
    communes_with_households: int | None = None
    communes_mobile_covered: int | None = None
    communes_mobile_covered_sensitive: int | None = None
    mobile_commune_pct: float | None = None
    mobile_target_met: bool | None = None
    targets: SummaryTargets | None = None
    layers: list[SummaryLayer] = Field(default_factory=list)
    operators: list[SummaryOperator] = Field(default_factory=list)
    definitions: dict[str, Any] = Field(
        default_factory=dict,
        description="The rule behind each figure (in Vietnamese with lang=vi).",
    )
    inputs: list[dict[str, Any]] | dict[str, Any] | None = Field(
        default=None, description="Every input file: role, path, sha256, bytes."
    )
    households_estimated: bool | None = None
    households_method: str | None = None
    households_vintage: str | None = None
    households_not_placed: Count = None
    households_not_placed_codes: list[str] | None = None
    households_fallback_communes: int | None = None
