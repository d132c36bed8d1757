"""Pydantic models of ``summary.json``: the region's totals, layers and operators."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas_fields import Count, PatternFields


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
