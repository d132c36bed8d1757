"""Folium maps served as HTML, working offline: Leaflet and the map script come from here.

A map page is one constant Folium skeleton with the map's data as a JSON blob
(:mod:`geodx.maps`), so building a page is a JSON dump. It is done in a worker thread,
at most ``RENDER_THREADS`` at a time, never on the event loop, and cannot take every
thread of the pool. A coverage map's hexagons are fetched by the page when their layer
is turned on (``/maps/coverage/cells``). Map pages carry a Content-Security-Policy that
lets only this service's scripts run (plus the skeleton's inline scripts, by hash).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Annotated, Literal, get_args

import anyio
import anyio.to_thread
from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ResultsDep, SettingsDep
from api.mappages import (
    ASSETS,
    COMMUNE_ASSETS,
    LEAFLET_PREFIX,
    SCRIPT,
    STYLESHEET,
    CommuneCells,
    _assets,
    commune_cells,
    content_security_policy,
    map_layers,
    render_cells,
    render_commune,
    render_coverage,
    tiles_source,
)
from api.schemas import ErrorMessage
from api.settings import Settings
from geodx.pages import script_json

__all__ = [  # what the app, the scenario maps and the tests find here
    "ASSETS",
    "COMMUNE_ASSETS",
    "LEAFLET_PREFIX",
    "CommuneCells",
    "_assets",
    "content_security_policy",
    "render_cells",
    "render_commune",
    "render_coverage",
    "router",
    "tiles_source",
    "warm",
]

router = APIRouter(prefix="/maps", tags=["maps"])
log = logging.getLogger("geodx.api")

Indicator = Literal["fibre", "mobile", "mobile_5g"]
ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorMessage, "description": "Unknown commune."},
    422: {"model": ErrorMessage, "description": "A parameter has the wrong value."},
}
HTML_200: dict[int | str, dict[str, object]] = {
    200: {
        "content": {"text/html": {}},
        "description": "An HTML page with a Leaflet map.",
    }
}
JSON_200: dict[int | str, dict[str, object]] = {
    200: {
        "content": {"application/json": {}},
        "description": "The map's hexagon layer: geometries, fill colours, tooltips.",
    }
}
MAX_CACHED_PAGES = 256
RENDER_THREADS = 2  # pages and hexagon layers built at once, per process
_lock = threading.Lock()


def _limiter(app: FastAPI) -> anyio.CapacityLimiter:
    limiter = getattr(app.state, "map_render_limiter", None)
    if limiter is None:  # made on the event loop, on first use
        limiter = app.state.map_render_limiter = anyio.CapacityLimiter(RENDER_THREADS)
    assert isinstance(limiter, anyio.CapacityLimiter)
    return limiter


async def _page(
    app: FastAPI, key: tuple[str, ...], build: Callable[[], bytes]
) -> bytes:
    """A cached page, or build it in a worker thread (at most ``RENDER_THREADS``)."""
    page = app.state.map_cache.get(key)
    if isinstance(page, bytes):
        return page
    return await anyio.to_thread.run_sync(
        _cached, app, key, build, limiter=_limiter(app)
    )


def warm(app: FastAPI) -> None:
    """Build the coverage maps, their hexagon layers and the commune-map index.

    Run in a background thread at start-up. A tiled map's hexagons come from
    ``/tiles`` on demand: its whole hexagon layer is not built.
    """
    results, settings = app.state.results, app.state.settings
    tiled = len(results.communes) > settings.map_tiles_above  # hexagons from /tiles
    try:
        commune_cells(app, results)
        for ind in get_args(Indicator):
            _cached(app, ("coverage", ind),
                    functools.partial(render_coverage, results, settings, ind,
                                      map_layers(app, results)))  # fmt: skip
            if not tiled:
                _cached(app, ("cells", ind),
                        functools.partial(render_cells, results, settings, ind))  # fmt: skip
    except Exception:  # noqa: BLE001 - a request will render it again, and say why
        log.exception("could not pre-render the coverage maps")


def _cached(app: FastAPI, key: tuple[str, ...], build: Callable[[], bytes]) -> bytes:
    cache: dict[tuple[str, ...], bytes] = app.state.map_cache
    with _lock:
        page = cache.get(key)
    if page is None:  # built outside the lock: other maps keep being served meanwhile
        page = build()
        with _lock:
            while len(cache) >= MAX_CACHED_PAGES:
                cache.pop(next(iter(cache)))
            cache[key] = page
    return page


def _html(page: bytes, settings: Settings) -> HTMLResponse:
    headers = {
        "Cache-Control": settings.cache_control,
        "Content-Security-Policy": content_security_policy(settings.tiles_url),
    }
    return HTMLResponse(page, headers=headers)


@router.get(
    "/coverage",
    response_class=HTMLResponse,
    responses={**HTML_200, **ERRORS},
    operation_id="getCoverageMap",
)
async def coverage(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    indicator: Annotated[
        Indicator, Query(description="Which coverage to colour.")
    ] = "fibre",
) -> HTMLResponse:
    """Map of communes coloured by coverage around the target, with layers and hexagons."""
    page = await _page(
        request.app,
        ("coverage", indicator),
        lambda: render_coverage(
            results, settings, indicator, map_layers(request.app, results)
        ),
    )
    return _html(page, settings)


@router.get(
    "/coverage/cells",
    response_class=Response,
    responses={**JSON_200, **ERRORS},
    operation_id="getCoverageMapCells",
)
async def coverage_cells(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    indicator: Annotated[
        Indicator, Query(description="Which coverage to colour.")
    ] = "fibre",
) -> Response:
    """The coverage map's H3 hexagons, loaded by the map when their layer is turned on."""
    body = await _page(
        request.app,
        ("cells", indicator),
        lambda: render_cells(results, settings, indicator),
    )
    headers = {"Cache-Control": settings.cache_control}
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/communes/{commune_code}",
    response_class=HTMLResponse,
    responses={**HTML_200, **ERRORS},
    operation_id="getCommuneMap",
)
async def commune(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    commune_code: Annotated[
        str, Path(max_length=32, description="Commune code (mã xã).")
    ],
    indicator: Annotated[Indicator, Query(description="Layer shown first.")] = "fibre",
) -> HTMLResponse:
    """Map of one commune with its H3 cells."""
    results.commune(commune_code)  # 404 before caching anything
    page = await _page(
        request.app,
        ("commune", commune_code, indicator),
        lambda: render_commune(
            results,
            settings,
            commune_code,
            indicator,
            commune_cells(request.app, results),
            map_layers(request.app, results),
        ),  # fmt: skip
    )
    return _html(page, settings)


def _asset(body: bytes, media_type: str) -> Response:
    headers = {"Cache-Control": "public, max-age=86400"}  # the URL carries a digest
    return Response(body, media_type=media_type, headers=headers)


@router.get("/assets/geodx-map.js", include_in_schema=False)
async def map_script() -> Response:
    """The constant script that builds a map page from its JSON blob."""
    return _asset(SCRIPT, "text/javascript")


@router.get("/assets/geodx-map.css", include_in_schema=False)
async def map_stylesheet() -> Response:
    """The map pages' own styles (title, legend, tooltips)."""
    return _asset(STYLESHEET, "text/css")


LAYER_200: dict[int | str, dict[str, object]] = {
    200: {
        "content": {"application/geo+json": {}, "image/png": {}},
        "description": "The layer as the run drew it: GeoJSON (vector) or PNG (image).",
    }
}


@router.get(
    "/layers",
    response_class=Response,
    responses={200: {"content": {"application/json": {}},
                     "description": "The layers the run drew, per operator."}},
    operation_id="getMapLayers",
)  # fmt: skip
async def layer_index(
    request: Request, results: ResultsDep, settings: SettingsDep
) -> Response:
    """The layers the run drew for the maps (what each operator filed), with URLs."""
    layers = map_layers(request.app, results)
    body = {
        "layers": [
            {**vars(x), "bounds": list(x.bounds), "url": x.url("layers/", results.version)}
            for x in layers.layers.values()
        ],
        "synthetic": results.synthetic,
    }  # fmt: skip
    headers = {"Cache-Control": settings.cache_control}
    return Response(script_json(body), media_type="application/json", headers=headers)


@router.get(
    "/layers/{layer_id:path}",
    response_class=Response,
    responses={
        **LAYER_200,
        **ERRORS,
        404: ERRORS[404] | {"description": "No such layer."},
    },
    operation_id="getMapLayer",
)
async def layer_file(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    layer_id: Annotated[
        str, Path(max_length=200, description="Layer id, as in /maps/layers.")
    ],
    part: Annotated[
        Literal["", "sites"],
        Query(description="`sites`: a site layer's sector points, not its prediction."),
    ] = "",
) -> Response:
    """One layer the run drew, fetched by a map when it is switched on."""
    layers = map_layers(request.app, results)
    layer = layers.get(layer_id, part)  # NotFound -> 404; never a path from a request
    body = await _page(
        request.app, ("layer", layer.id, part), lambda: layers.body(layer.id, part)
    )
    headers = {"Cache-Control": settings.cache_control}
    return Response(body, media_type=layer.media_type, headers=headers)
