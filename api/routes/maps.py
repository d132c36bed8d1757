"""Folium maps served as HTML, working offline: Leaflet comes from this service."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Annotated, Literal, get_args

import geopandas as gpd
from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.cells import add_percentages, cell_polygons, resolution_for_at_most
from api.deps import ResultsDep, SettingsDep
from api.results import RegionResults
from api.schemas import ErrorMessage
from api.settings import Settings
from geodx.maps import MapAssets, commune_map, coverage_map

router = APIRouter(prefix="/maps", tags=["maps"])
log = logging.getLogger("geodx.api")

LEAFLET_PREFIX = "/static/leaflet"
ASSETS = MapAssets(f"{LEAFLET_PREFIX}/leaflet.js", f"{LEAFLET_PREFIX}/leaflet.css")
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
MAX_CACHED_PAGES = 256
_lock = threading.Lock()


def _target(results: RegionResults, indicator: str) -> float:
    key = (
        "fibre_household_pct"
        if indicator == "fibre"
        else "mobile_commune_household_pct"
    )
    return results.targets[key]


async def _page(app: FastAPI, key: tuple[str, ...], build: Callable[[], str]) -> bytes:
    """A cached page, or build it in the thread pool (rendering takes seconds)."""
    page = app.state.map_cache.get(key)
    if isinstance(page, bytes):
        return page
    return await run_in_threadpool(_cached, app, key, build)


def warm(app: FastAPI) -> None:
    """Render every coverage map into the cache (run in a background thread)."""
    try:
        for indicator in get_args(Indicator):
            _cached(app, ("coverage", indicator),
                    lambda i=indicator: render_coverage(app.state.results,
                                                        app.state.settings, i))  # fmt: skip
    except Exception:  # noqa: BLE001 - a request will render it again, and say why
        log.exception("could not pre-render the coverage maps")


def _cached(app: FastAPI, key: tuple[str, ...], build: object) -> bytes:
    cache: dict[tuple[str, ...], bytes] = app.state.map_cache
    with _lock:
        page = cache.get(key)
    if page is None:  # built outside the lock: other maps keep being served meanwhile
        assert callable(build)
        page = str(build()).encode()  # kept encoded: pages are megabytes
        with _lock:
            while len(cache) >= MAX_CACHED_PAGES:
                cache.pop(next(iter(cache)))
            cache[key] = page
    return page


def _layer_overlays(results: RegionResults, indicator: str) -> list[tuple[str, str]]:
    out = []
    for layer in results.layers:
        wanted = {
            "fibre": layer.kind == "fibre",
            "mobile": layer.kind == "mobile",
            "mobile_5g": layer.technology == "5G",
        }[indicator]
        if wanted and f"layer_{layer.slug}_pct" in results.communes.columns:
            tech = layer.technology or layer.kind
            out.append(
                (
                    f"{layer.operator or '?'} — {tech} ({layer.id})",
                    f"layer_{layer.slug}",
                )
            )
    return out


def render_coverage(results: RegionResults, settings: Settings, indicator: str) -> str:
    """The region's coverage map as an HTML page."""
    communes = gpd.GeoDataFrame(
        results.communes, geometry=results.commune_geoms, crs=4326
    )
    districts = gpd.GeoDataFrame(
        results.districts, geometry=results.district_geoms, crs=4326
    )
    res = resolution_for_at_most(results.cell_totals, settings.map_max_cells)
    index = results.cells_index(res)
    cells = gpd.GeoDataFrame(index.props, geometry=index.geoms, crs=4326)
    m = coverage_map(
        communes,
        indicator=indicator,
        target_pct=_target(results, indicator),
        assets=ASSETS,
        districts=districts,
        cells=cells,
        layers=_layer_overlays(results, indicator),
        title=results.name,
        synthetic=results.synthetic,
        tiles_url=settings.tiles_url,
        attribution=settings.tiles_attribution,
    )
    return str(m.get_root().render())


def render_commune(
    results: RegionResults, settings: Settings, code: str, indicator: str
) -> str:
    """One commune's map with its H3 cells, as an HTML page."""
    row = results.commune(code)  # raises UnknownCommune -> 404
    commune = gpd.GeoDataFrame(
        [row], geometry=[results.commune_geometry(code)], crs=4326
    )
    own = results.cells[results.cells["commune_code"] == code]
    own = add_percentages(own.drop(columns="commune_code").reset_index(drop=True))
    cells = gpd.GeoDataFrame(own, geometry=cell_polygons(own["h3"]), crs=4326)
    title = f"{row.get('commune_name')} — {row.get('district_name') or results.name}"
    m = commune_map(
        commune,
        cells,
        indicator=indicator,
        target_pct=_target(results, indicator),
        assets=ASSETS,
        title=title,
        synthetic=results.synthetic,
        tiles_url=settings.tiles_url,
        attribution=settings.tiles_attribution,
    )
    return str(m.get_root().render())


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
        lambda: render_coverage(results, settings, indicator),
    )
    return HTMLResponse(page, headers={"Cache-Control": settings.cache_control})


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
        lambda: render_commune(results, settings, commune_code, indicator),
    )
    return HTMLResponse(page, headers={"Cache-Control": settings.cache_control})
