"""Pydantic response models: small JSON documents (GeoJSON bodies bypass pydantic).

The OGC API documents are :mod:`api.schemas_ogc`, the pattern fields
:mod:`api.schemas_fields` and ``summary.json`` :mod:`api.schemas_summary`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas_fields import Count, PatternFields
from api.schemas_ogc import (
    Link,
)


class ErrorMessage(BaseModel):
    """Every 4xx/5xx body: one line, safe to show."""

    detail: str = Field(description="What was wrong with the request.")


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
