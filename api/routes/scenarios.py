"""What-if scenarios: ``POST /scenarios`` (a write), ``GET /scenarios/{id}`` and its map.

The route bounds the request before any work — the key (401), the rate per key (429),
the body's bytes read as a stream with a cap (413), its layers, features and vertices
(413), its shape and geometries (422) — and hands the layers to the scenario service
(``app.state.scenarios``, a :class:`api.scenario_types.ScenarioService`), which
computes the region with them added, one scenario at a time per worker.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, Literal

import anyio.to_thread
import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from api.auth import RATE_FILE, TokenBucket, TooManyRequests, require_key
from api.deps import base_url
from api.errors import BadRequest
from api.routes import maps
from api.routes.maps import content_security_policy
from api.scenario_schemas import ScenarioRequest, raw_counts
from api.scenario_types import (
    ScenarioBusy,
    ScenarioRejected,
    ScenarioService,
    UnknownScenario,
    state_dir,
)
from api.schemas import ErrorMessage
from api.settings import Settings
from geodx.errors import ServiceUnavailable

router = APIRouter(prefix="/scenarios", tags=["planning"])

ClientDep = Annotated[str, Depends(require_key)]
IdPath = Annotated[
    str,
    Path(
        max_length=64,
        description="Scenario id, as POST /scenarios answered it (16 hex digits).",
    ),
]
IndicatorQ = Annotated[
    Literal["fibre", "mobile", "mobile_5g"], Query(description="Which coverage.")
]
RETRY_BUSY_S = 5
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorMessage, "description": text}
    for code, text in {
        401: "No valid API key (Authorization: Bearer <key>).",
        413: "The body, or its layers, features or vertices, past the limits.",
        422: "A layer the manifest's rules refuse, or bad GeoJSON.",
        429: "Past the key's rate; see Retry-After.",
        503: "No region to compute on, or the worker is busy; see Retry-After.",
    }.items()
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorMessage, "description": "No scenario (or commune) so named."},
    422: {"model": ErrorMessage, "description": "A parameter has the wrong value."},
}

BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": '{"name": ..., "layers": [{"id", "kind", "operator", '
                    '"technology", "service_distance_m" or "min_rsrp_dbm", "features": '
                    "GeoJSON FeatureCollection (WGS84)}]}",
                }
            }
        },
    }
}


class PayloadTooLarge(HTTPException):
    """413, naming the limit."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class Unprocessable(HTTPException):
    """422 for a body the scenario rules refuse."""

    def __init__(self, detail: str) -> None:
        super().__init__(422, detail)


def _service(request: Request) -> ScenarioService:
    service: ScenarioService | None = getattr(request.app.state, "scenarios", None)
    if service is None:
        raise ServiceUnavailable(
            "scenarios need the region's files: start the service with geodx serve "
            "REGION (GEODX_REGION)"
        )
    return service


def _stored(request: Request, scenario_id: str) -> ScenarioService:
    """The service, to read a stored scenario: without one there is none (404)."""
    service: ScenarioService | None = getattr(request.app.state, "scenarios", None)
    if service is None:
        raise UnknownScenario(
            f"no scenario '{scenario_id[:40]}': this service computes no scenarios "
            "(it was started without the region's files)"
        )
    return service


def _bucket(request: Request) -> TokenBucket:
    bucket: TokenBucket | None = getattr(request.app.state, "scenario_bucket", None)
    if bucket is None:
        settings: Settings = request.app.state.settings
        bucket = request.app.state.scenario_bucket = TokenBucket(
            state_dir(settings) / RATE_FILE,
            rate_per_minute=settings.scenario_rate_per_minute,
            burst=settings.scenario_burst,
        )
    return bucket


async def read_body(request: Request, cap: int) -> bytes:
    """The body, read as a stream and refused as soon as it passes ``cap`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise BadRequest("Content-Length is not a number")
        if int(declared) > cap:
            raise PayloadTooLarge(
                f"the body has {int(declared):,} bytes; at most {cap:,}"
            )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"the body passes {cap:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def check_counts(doc: Any, settings: Settings) -> None:
    """413 past the layers, features or vertices one scenario may hold."""
    layers, features, vertices = raw_counts(doc)
    for what, found, limit in (
        ("layers", layers, settings.scenario_max_layers),
        ("features", features, settings.scenario_max_features),
        ("vertices", vertices, settings.scenario_max_vertices),
    ):
        if found > limit:
            raise PayloadTooLarge(
                f"the scenario has {found:,} {what}; at most {limit:,} "
                f"(GEODX_SCENARIO_MAX_{what.upper()})"
            )


def parse(doc: Any) -> ScenarioRequest:
    """The checked body (422 with one line naming each problem)."""
    try:
        return ScenarioRequest.model_validate(doc)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ()))
            message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{where}: {message}" if where else message)
        raise Unprocessable("; ".join(parts)) from None


def _json(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json",
        headers=headers,
    )  # fmt: skip


@router.post(
    "",
    status_code=201,
    responses=ERRORS,
    openapi_extra=BODY,
    operation_id="createScenario",
)
async def create_scenario(request: Request, client: ClientDep) -> Response:
    """Recompute the region with new layers added (a write: needs an API key)."""
    settings: Settings = request.app.state.settings
    service = _service(request)
    wait = await anyio.to_thread.run_sync(_bucket(request).take, client)
    if wait > 0:
        raise TooManyRequests(
            f"at most {settings.scenario_rate_per_minute:g} scenarios a minute per "
            "key; retry later",
            retry_after_s=wait,
        )
    body = await read_body(request, settings.scenario_max_body_bytes)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Unprocessable("the body is not JSON") from None
    check_counts(doc, settings)
    parsed = parse(doc)
    layers = [layer.to_new_layer() for layer in parsed.layers]
    try:
        answer = await anyio.to_thread.run_sync(
            functools.partial(service.create, parsed.name, layers)
        )
    except ScenarioRejected as exc:
        raise Unprocessable(str(exc)) from None
    except ScenarioBusy as exc:
        raise HTTPException(
            503, str(exc), headers={"Retry-After": str(RETRY_BUSY_S)}
        ) from None
    return _json(answer, 201, location=f"{base_url(request)}/scenarios/{answer['id']}")


@router.get("", operation_id="listScenarios")
def list_scenarios(request: Request) -> Response:
    """The scenarios kept, newest first: id, name, time, layers and who crosses."""
    service: ScenarioService | None = getattr(request.app.state, "scenarios", None)
    found = [] if service is None else service.listing()
    return _json({"scenarios": found})


@router.get("/{scenario_id}", responses=READ_ERRORS, operation_id="getScenario")
def get_scenario(request: Request, scenario_id: IdPath) -> Response:
    """A scenario again: its summary, communes and difference from the baseline."""
    answer = _stored(request, scenario_id).get(scenario_id)
    return _json(answer, etag=f'W/"scenario-{scenario_id}"')


def _map_headers(settings: Settings) -> dict[str, str]:
    return {
        "Cache-Control": settings.cache_control,
        "Content-Security-Policy": content_security_policy(settings.tiles_url),
    }


# The map pages' assets, relative to pages at /scenarios/<id>/<page> and
# /scenarios/<id>/communes/<code>; every other URL of a page is relative to it too
# (coverage/cells, communes/<code>, ../coverage), and answered below.
PAGE_ASSETS = maps._assets("../../maps/")
COMMUNE_ASSETS = maps._assets("../../../maps/")
CodePath = Annotated[str, Path(max_length=32, description="Commune code (mã xã).")]


async def _page(request: Request, build: Callable[[], bytes]) -> HTMLResponse:
    page = await anyio.to_thread.run_sync(build)
    return HTMLResponse(page, headers=_map_headers(request.app.state.settings))


@router.get(
    "/{scenario_id}/map",
    response_class=HTMLResponse,
    responses=READ_ERRORS,
    operation_id="getScenarioMap",
)
async def scenario_map(
    request: Request, scenario_id: IdPath, indicator: IndicatorQ = "fibre"
) -> HTMLResponse:
    """The scenario's coverage map (communes, hexagons; a click opens a commune)."""
    service, settings = _stored(request, scenario_id), request.app.state.settings
    return await _page(
        request,
        lambda: maps.render_coverage(
            service.results(scenario_id), settings, indicator, assets=PAGE_ASSETS
        ),
    )


@router.get(
    "/{scenario_id}/coverage",
    response_class=HTMLResponse,
    responses=READ_ERRORS,
    operation_id="getScenarioCoverageMap",
)
async def scenario_coverage(
    request: Request, scenario_id: IdPath, indicator: IndicatorQ = "fibre"
) -> HTMLResponse:
    """The scenario's coverage map (the commune pages link back here)."""
    return await scenario_map(request, scenario_id, indicator)


@router.get(
    "/{scenario_id}/coverage/cells",
    responses=READ_ERRORS,
    operation_id="getScenarioMapCells",
)
async def scenario_cells(
    request: Request, scenario_id: IdPath, indicator: IndicatorQ = "fibre"
) -> Response:
    """The scenario map's H3 hexagons, loaded by the map page."""
    settings: Settings = request.app.state.settings
    service = _stored(request, scenario_id)

    def build() -> bytes:
        return maps.render_cells(service.results(scenario_id), settings, indicator)

    body = await anyio.to_thread.run_sync(build)
    headers = {"Cache-Control": settings.cache_control}
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/{scenario_id}/communes/{commune_code}",
    response_class=HTMLResponse,
    responses=READ_ERRORS,
    operation_id="getScenarioCommuneMap",
)
async def scenario_commune(
    request: Request,
    scenario_id: IdPath,
    commune_code: CodePath,
    indicator: IndicatorQ = "fibre",
) -> HTMLResponse:
    """One commune's map in the scenario, with its H3 cells and figures."""
    service, settings = _stored(request, scenario_id), request.app.state.settings
    return await _page(
        request,
        lambda: maps.render_commune(
            service.results(scenario_id),
            settings,
            commune_code,
            indicator,
            assets=COMMUNE_ASSETS,
        ),  # fmt: skip
    )


__all__ = ["UnknownScenario", "router"]
