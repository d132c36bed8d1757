"""Endpoints for officials: region summary, one commune's report, search, gap tables."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from api.deps import ResultsDep
from api.exports import MEDIA_TYPES
from api.results import RegionResults
from api.schemas import (
    CommuneBrief,
    CommuneReport,
    CommuneSearch,
    ErrorMessage,
    GapRow,
    GapsTable,
    IndicatorFigures,
    LayerFigures,
    MobileViews,
    OperatorFigures,
    RegionSummary,
    TargetStatus,
)
from geodx.contract import (
    GAP_COLUMNS,
    GAP_INDICATORS,
    INDICATORS,
    MARGIN_COLUMNS,
    MET_COLUMNS,
    SENSITIVE_COLUMN,
    TARGET_KEYS,
    indoor_layer_column,
)

router = APIRouter(tags=["officials"])

ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorMessage, "description": "Unknown commune."},
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
def summary(results: ResultsDep) -> JSONResponse:
    """The region's totals, targets and whether they are met, definitions and inputs."""
    return JSONResponse(results.summary)


def report(results: RegionResults, row: dict[str, Any]) -> CommuneReport:
    """Build a commune's report from its row of ``communes.geojson``."""
    t = results.targets
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
        definitions={"targets": t, **(results.summary.get("definitions") or {})},
    )


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
    results: ResultsDep,
    commune_code: Annotated[
        str, Path(max_length=32, description="Commune code (mã xã).")
    ],
) -> CommuneReport:
    """Coverage of one commune against the targets, with its gap and breakdowns."""
    return report(results, results.commune(commune_code))


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
        Literal["en", "vi"], Query(description="Column headers (csv, xlsx).")
    ] = "en",
) -> Response | GapsTable:
    """Communes below a target, largest number of missing households first."""
    if format == "json":
        table = results.gaps(indicator)
        rows = [GapRow.model_validate(r) for r in table.to_dict("records")]
        return GapsTable(
            region=results.name,
            synthetic=results.synthetic,
            indicator=indicator,
            target_pct=results.targets[TARGET_KEYS[indicator]],
            count=len(rows),
            gaps=rows,
        )
    name = f"gaps-{indicator}" + ("-synthetic" if results.synthetic else "")
    return Response(
        results.export(indicator, format, lang),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )
