"""Endpoints for officials: region summary, one commune's report, search, gap tables."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import ResultsDep
from api.exports import MEDIA_TYPES
from api.gap_tables import check_district, gap_rows
from api.i18n import definitions_vi
from api.results import RegionResults
from api.routes.brief import brief_links
from api.schemas import (
    CommuneBrief,
    CommuneProperties,
    CommuneReport,
    CommuneSearch,
    ErrorMessage,
    GapRow,
    GapsTable,
    IndicatorFigures,
    LayerFigures,
    MeasuredFigures,
    MobileViews,
    OperatorFigures,
    TargetStatus,
)
from api.schemas_summary import RegionSummary
from geodx.contract_names import (
    GAP_COLUMNS,
    GAP_INDICATORS,
    INDICATORS,
    MET_COLUMNS,
    TARGET_KEYS,
)
from geodx.contract_views import (
    MARGIN_COLUMNS,
    MEASURED_BELOW_COLUMN,
    MEASURED_PARTS,
    SENSITIVE_COLUMN,
    indoor_layer_column,
)

router = APIRouter(tags=["officials"])

LangQ = Annotated[
    Literal["en", "vi"],
    Query(
        description="Language of the words: en (default) or vi (Vietnamese). Error "
        "messages follow it on every route; codes, units and numbers stay as they are."
    ),
]
DistrictQ = Annotated[
    str | None,
    Query(
        max_length=32,
        description="Only communes of this district (district_code). A region without "
        "districts (2025 boundaries) answers 400; an unknown district 404.",
    ),
]

ERRORS: dict[int | str, dict[str, object]] = {
    400: {
        "model": ErrorMessage,
        "description": "district_code on a region without districts.",
    },
    404: {"model": ErrorMessage, "description": "Unknown commune or district."},
    422: {
        "model": ErrorMessage,
        "description": "A parameter has the wrong type or range.",
    },
}


@router.get(
    "/summary",
    response_model=RegionSummary,
    responses=ERRORS,
    operation_id="getSummary",
)
def summary(results: ResultsDep, lang: LangQ = "en") -> JSONResponse:
    """The region's totals, targets and whether they are met, definitions and inputs."""
    body = results.summary
    if lang == "vi" and isinstance(body.get("definitions"), dict):
        defs = definitions_vi(body["definitions"], results.targets)
        body = {**body, "definitions": defs}
    return JSONResponse(body)


def report(
    results: RegionResults, row: dict[str, Any], lang: str = "en"
) -> CommuneReport:
    """Build a commune's report from its row of ``communes.geojson``."""
    t = results.targets
    definitions = results.summary.get("definitions") or {}
    if lang == "vi" and isinstance(definitions, dict):
        definitions = definitions_vi(definitions, t)
    by_operator: dict[str, list[LayerFigures]] = {}
    for layer in results.layers:
        by_operator.setdefault(layer.operator or "unknown", []).append(
            LayerFigures(
                id=layer.id,
                operator=layer.operator,
                kind=layer.kind,
                technology=layer.technology,
                households=row.get(f"layer_{layer.slug}_households"),
                pct=row.get(f"layer_{layer.slug}_pct"),
                indoor_households=row.get(indoor_layer_column(layer.slug)),
            )
        )
    return CommuneReport(
        commune_code=str(row["commune_code"]),
        commune_name=str(row["commune_name"]),
        district_code=row.get("district_code"),
        district_name=row.get("district_name"),
        region=results.name,
        synthetic=results.synthetic,
        households=row.get("households"),
        by_technology=[
            IndicatorFigures(
                indicator=ind,
                households=row.get(f"{ind}_households"),
                pct=row.get(f"{ind}_pct"),
            )
            for ind in INDICATORS
        ],
        targets=[
            TargetStatus(
                indicator=ind,
                target_pct=t[TARGET_KEYS[ind]],
                met=row.get(MET_COLUMNS[ind]),
                gap_households=row.get(GAP_COLUMNS[ind]),
            )
            for ind in GAP_INDICATORS
        ],
        by_operator=by_operator,
        operators=_operators(results, row),
        mobile_views=_mobile_views(row),
        measured=_measured(results, row),
        households_estimated=results.households_estimated,
        properties=CommuneProperties.model_validate(row),
        definitions={"targets": t, **definitions},
    )


def _measured(results: RegionResults, row: dict[str, Any]) -> list[MeasuredFigures]:
    """One entry per measured layer of ``definitions.measured_layers``."""
    defs = results.summary.get("definitions") or {}
    layers = defs.get("measured_layers") if isinstance(defs, dict) else None
    out = []
    for layer in layers or []:
        if not isinstance(layer, dict) or not isinstance(layer.get("slug"), str):
            continue
        stem = f"measured_{layer['slug']}"
        out.append(
            MeasuredFigures(
                id=str(layer.get("id")),
                slug=layer["slug"],
                min_download_mbps=layer.get("min_download_mbps"),
                min_tests=layer.get("min_tests"),
                **{
                    f"{part[1:]}_households" if part else "households": row.get(
                        f"{stem}{part}_households"
                    )
                    for part in MEASURED_PARTS
                },
            )
        )
    return out


def _operators(results: RegionResults, row: dict[str, Any]) -> list[OperatorFigures]:
    """The per-operator figures of a commune (results written before them: none)."""
    out = []
    for entry in results.summary.get("operators") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("slug"), str):
            continue
        stem = f"operator_{entry['slug']}"
        out.append(
            OperatorFigures(
                operator=str(entry.get("operator")),
                slug=entry["slug"],
                **{
                    f"{kind}_{part}": row.get(f"{stem}_{kind}_{part}")
                    for kind in ("fibre", "mobile")
                    for part in ("households", "pct")
                },
            )
        )
    return out


def _mobile_views(row: dict[str, Any]) -> MobileViews | None:
    """Operators serving, indoor and margin figures; None for results without them."""
    if SENSITIVE_COLUMN not in row:
        return None
    minus, plus = MARGIN_COLUMNS
    return MobileViews(
        **{
            f"operators_{k}_households": row.get(f"mobile_operators_{k}_households")
            for k in ("0", "1", "2", "3plus")
        },
        all_operators_households=row.get("mobile_all_operators_households"),
        indoor_households=row.get("mobile_indoor_households"),
        indoor_pct=row.get("mobile_indoor_pct"),
        households_minus3db=row.get(minus),
        households_plus3db=row.get(plus),
        covered_sensitive=row.get(SENSITIVE_COLUMN),
        measured_below_households=row.get(MEASURED_BELOW_COLUMN),
    )


@router.get(
    "/communes",
    response_model=CommuneSearch,
    responses=ERRORS,
    operation_id="searchCommunes",
)
def search_communes(
    results: ResultsDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=100,
            description="Part of a name or code; case and diacritics are "
            'ignored ("hoa phu" finds "Hòa Phú").',
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 50,
) -> CommuneSearch:
    """Find communes by name, whatever the case and diacritics."""
    found = results.search(q)
    briefs = [
        CommuneBrief.model_validate(
            {k: v for k, v in r.items() if k in CommuneBrief.model_fields}
        )
        for r in found.head(limit).to_dict("records")
    ]
    return CommuneSearch(query=q, count=len(found), communes=briefs)


@router.get(
    "/communes/{commune_code}",
    response_model=CommuneReport,
    responses=ERRORS,
    operation_id="getCommuneReport",
)
def commune_report(
    request: Request,
    results: ResultsDep,
    commune_code: Annotated[
        str, Path(max_length=32, description="Commune code (mã xã).")
    ],
    lang: LangQ = "en",
) -> CommuneReport:
    """Coverage of one commune against the targets, with its gap and breakdowns."""
    found = report(results, results.commune(commune_code), lang)
    found.links = brief_links(request, commune_code)
    return found


@router.get(
    "/gaps",
    response_model=GapsTable,
    responses={
        200: {
            "content": {"text/csv": {}, MEDIA_TYPES["xlsx"]: {}},
            "description": "JSON, CSV (UTF-8 with BOM) or an Excel workbook.",
        },
        **ERRORS,
    },
    operation_id="getGaps",
)
def gaps(
    results: ResultsDep,
    indicator: Annotated[
        Literal["fibre", "mobile"], Query(description="Which target.")
    ] = "fibre",
    format: Annotated[
        Literal["json", "csv", "xlsx"], Query(description="Output format.")
    ] = "json",
    lang: Annotated[
        Literal["en", "vi"],
        Query(description="Column headers and sheet names (csv, xlsx), messages."),
    ] = "en",
    district_code: DistrictQ = None,
) -> Response | GapsTable:
    """Communes below a target, largest number of missing households first."""
    if format == "json":
        table = gap_rows(results, indicator, district_code).drop(columns="_pos")
        rows = [GapRow.model_validate(r) for r in table.to_dict("records")]
        return GapsTable(
            region=results.name,
            synthetic=results.synthetic,
            households_estimated=results.households_estimated,
            indicator=indicator,
            target_pct=results.targets[TARGET_KEYS[indicator]],
            communes_target_pct=(
                results.targets["mobile_commune_pct"] if indicator == "mobile" else None
            ),
            count=len(rows),
            gaps=rows,
        )
    if district_code is not None:
        check_district(results, district_code)
    return Response(
        results.export(indicator, format, lang, district_code),
        media_type=MEDIA_TYPES[format],
        headers=export_headers(results, indicator, format, district_code),
    )


def export_headers(
    results: RegionResults, indicator: str, fmt: str, district_code: str | None
) -> dict[str, str]:
    """The file name (saying synthetic and estimated) and a link to the facts."""
    name = f"gaps-{indicator}"
    if district_code is not None:
        name += "-" + re.sub(r"[^A-Za-z0-9]", "_", district_code)
    name += "-synthetic" * results.synthetic
    name += "-estimated" * results.households_estimated
    return {
        "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
        "Link": '</summary>; rel="describedby"; type="application/json"',
    }
