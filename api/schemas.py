"""Pydantic response models: small JSON documents (GeoJSON bodies bypass pydantic)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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
    definitions: dict[str, Any]


class GapRow(BaseModel):
    """One commune below a target."""

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
    indicator: str
    target_pct: float
    count: int
    gaps: list[GapRow]


class RegionSummary(BaseModel):
    """The region's totals, targets, definitions and inputs (``summary.json``)."""

    model_config = ConfigDict(extra="allow")

    region: str | None = None
    synthetic: bool | None = None
    households: int | float | None = None
    fibre_pct: float | None = None
    mobile_pct: float | None = None
