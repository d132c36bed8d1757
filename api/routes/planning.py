"""Planning endpoints (DESIGN.md): point lookup and the cheapest way to the target."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import ResultsDep
from api.plan import commune_plan, province_plan
from api.schemas import ErrorMessage
from geodx.errors import ServiceUnavailable

router = APIRouter(tags=["planning"])

_INVALID = {
    "model": ErrorMessage,
    "description": "A parameter has the wrong type or range.",
}
LOOKUP_ERRORS: dict[int | str, dict[str, object]] = {
    422: _INVALID,
    503: {
        "model": ErrorMessage,
        "description": "No region served (GEODX_REGION unset), or the results are out "
        "of date for its inputs.",
    },
}
PLAN_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorMessage, "description": "Unknown commune."},
    422: _INVALID,
    503: {
        "model": ErrorMessage,
        "description": "Results written before plan.parquet existed: run geodx run again.",
    },
}

IndicatorQ = Annotated[
    Literal["fibre", "mobile"],
    Query(
        description="fibre: households cheapest to connect until the gap is closed; "
        "mobile: communes below the 4G/5G commune rule and their uncovered H3 cells."
    ),
]


class Live(Protocol):
    """The ``live`` service (``app.live.LiveRegion``): answers a point lookup."""

    def lookup(self, lon: float, lat: float) -> dict[str, Any]:
        """Commune, H3 cell, fibre/4G/5G and each layer at one point."""
        ...


def _live(request: Request) -> Live:
    live: Live | None = getattr(request.app.state, "live", None)
    if live is None:
        raise ServiceUnavailable(
            "point lookups need the region: serve it with geodx serve REGION "
            "(GEODX_REGION unset)"
        )
    return live


@router.get("/lookup", responses=LOOKUP_ERRORS, operation_id="lookupPoint")
def lookup(
    request: Request,
    lon: Annotated[
        float,
        Query(ge=-180, le=180, description="Longitude, WGS84 degrees (-180..180)."),
    ],
    lat: Annotated[
        float,
        Query(ge=-90, le=90, description="Latitude, WGS84 degrees (-90..90)."),
    ],
) -> JSONResponse:
    """Is this house covered: commune, H3 cell, fibre, 4G/5G, each layer, fibre nearby."""
    return JSONResponse(_live(request).lookup(lon, lat))


@router.get(
    "/communes/{commune_code}/plan",
    responses=PLAN_ERRORS,
    operation_id="getCommunePlan",
)
def plan_commune(
    commune_code: Annotated[
        str, Path(max_length=64, description="Official commune code (mã xã).")
    ],
    results: ResultsDep,
    indicator: IndicatorQ = "fibre",
) -> JSONResponse:
    """The cheapest way to the commune's target: households, H3 cells and metres."""
    return JSONResponse(commune_plan(results, commune_code, indicator))


@router.get("/plan", responses=PLAN_ERRORS, operation_id="getProvincePlan")
def plan_province(results: ResultsDep, indicator: IndicatorQ = "fibre") -> Response:
    """The cheapest way to the province's target, on the province's totals."""
    # Computed once per results version (0.8 s for the country's fibre plan each time).
    body = results.page(
        ("plan", indicator),
        lambda: bytes(JSONResponse(province_plan(results, indicator)).body),
    )
    return Response(body, media_type="application/json")
