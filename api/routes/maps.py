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
import hashlib
import logging
import re
import threading
from collections.abc import Callable
from importlib.resources import files
from typing import Annotated, Literal, NamedTuple, get_args
from urllib.parse import quote, urlsplit

import anyio
import anyio.to_thread
import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from api import mappanel
from api.cells import cell_polygons, resolution_for_at_most
from api.deps import ResultsDep, SettingsDep
from api.maplayers import FOLDER, MapLayers
from api.results import RegionResults
from api.schemas import ErrorMessage
from api.settings import Settings
from geodx.contract import INDICATORS, TARGET_KEYS, pct_array
from geodx.mapparts import operator_layers
from geodx.maps import cells_layer_data, commune_map_data, coverage_map_data
from geodx.pages import MapAssets, map_page, script_json

router = APIRouter(prefix="/maps", tags=["maps"])
log = logging.getLogger("geodx.api")

LEAFLET_PREFIX = "/static/leaflet"
SCRIPT = (files("geodx") / "maps.js").read_bytes()
STYLESHEET = (files("geodx") / "maps.css").read_bytes()


def _assets(up: str) -> MapAssets:
    """Assets relative to a page ``up`` below ``/maps/``: they work under any prefix.

    Behind a proxy that serves the app under a path (``GEODX_BASE_URL`` with a path),
    root-relative URLs would leave it; ``../`` ones stay inside.
    """

    def versioned(name: str, body: bytes) -> str:
        return f"{up}assets/{name}?v={hashlib.sha256(body).hexdigest()[:12]}"

    return MapAssets(
        f"{up}..{LEAFLET_PREFIX}/leaflet.js",
        f"{up}..{LEAFLET_PREFIX}/leaflet.css",
        versioned("geodx-map.js", SCRIPT),
        versioned("geodx-map.css", STYLESHEET),
    )


ASSETS = _assets("")  # pages at /maps/<page>
COMMUNE_ASSETS = _assets("../")  # pages at /maps/communes/<code>
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
_cells_lock = threading.Lock()
_HOST = re.compile(
    r"(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?"
)


def _target(results: RegionResults, indicator: str) -> float:
    return results.targets[TARGET_KEYS[indicator]]  # the results contract's mapping


def tiles_source(url: str | None) -> str | None:
    """The CSP source a base-map tile URL needs (its origin; ``{s}.`` as ``*.``).

    >>> tiles_source("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    'https://*.tile.example.org'
    >>> tiles_source("https://user@host/{z}") , tiles_source("javascript:alert(1)")
    ('https:', None)
    """
    if not url:
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return None
    netloc = re.sub(r"^\{s\}\.", "*.", parts.netloc)
    return f"{scheme}://{netloc}" if _HOST.fullmatch(netloc) else f"{scheme}:"


@functools.lru_cache(maxsize=8)
def content_security_policy(tiles_url: str | None = None) -> str:
    """The CSP of every map page: this service's scripts, styles and data only."""
    pages = (map_page(ASSETS), map_page(COMMUNE_ASSETS))
    scripts = dict.fromkeys(h for page in pages for h in page.script_hashes)
    styles = dict.fromkeys(h for page in pages for h in page.style_hashes)
    images = ["'self'", "data:", *filter(None, [tiles_source(tiles_url)])]
    return "; ".join(
        [
            "default-src 'none'",
            " ".join(["script-src 'self'", *scripts]),
            " ".join(["style-src 'self'", *styles]),
            " ".join(["img-src", *images]),
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
        ]
    )


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

    Run in a background thread at start-up.
    """
    results, settings = app.state.results, app.state.settings
    try:
        commune_cells(app, results)
        for ind in get_args(Indicator):
            _cached(app, ("coverage", ind),
                    functools.partial(render_coverage, results, settings, ind,
                                      map_layers(app, results)))  # fmt: skip
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


def _cells_resolution(results: RegionResults, settings: Settings) -> int:
    return resolution_for_at_most(results.cell_totals, settings.map_max_cells)


def map_layers(app: FastAPI, results: RegionResults) -> MapLayers:
    """The app's checked index of the layers the run drew, read on first use."""
    with _cells_lock:
        found: MapLayers | None = getattr(app.state, "map_layers", None)
        if found is None or found.folder != results.folder / FOLDER:
            found = app.state.map_layers = MapLayers.read(results.folder)
        return found


def _layer_groups(
    results: RegionResults, layers: MapLayers | None, prefix: str
) -> list[dict[str, object]]:
    """The operators' layers for a page, their URLs ``prefix`` + id (relative)."""
    found = MapLayers.read(results.folder) if layers is None else layers
    return operator_layers(
        {**vars(x), "bounds": list(x.bounds), "url": x.url(prefix, results.version)}
        for x in found.layers.values()
    )


def _commune_link(code: object, indicator: str) -> str:
    """The commune page's URL relative to a page at ``/maps/<page>``, code quoted."""
    return f"communes/{quote(str(code), safe='')}?indicator={indicator}"


def render_coverage(
    results: RegionResults,
    settings: Settings,
    indicator: str,
    layers: MapLayers | None = None,
    assets: MapAssets = ASSETS,
) -> bytes:
    """The region's coverage map as an HTML page (its hexagons fetched on demand).

    ``assets``: for a page elsewhere than ``/maps/<page>`` (a scenario's map).
    """
    communes = gpd.GeoDataFrame(
        results.communes, geometry=results.commune_geoms, crs=4326
    )
    districts = gpd.GeoDataFrame(
        results.districts, geometry=results.district_geoms, crs=4326
    )
    data = coverage_map_data(
        communes,
        indicator=indicator,
        target_pct=_target(results, indicator),
        districts=districts,
        cells_url=f"coverage/cells?indicator={indicator}",  # relative to the page
        cells_resolution=_cells_resolution(results, settings),
        layers=_layer_overlays(results, indicator),
        title=results.name,
        synthetic=results.synthetic,
        tiles_url=settings.tiles_url,
        attribution=settings.tiles_attribution,
        links=[_commune_link(c, indicator) for c in results.communes["commune_code"]],
        operator_groups=_layer_groups(results, layers, "layers/"),
    )
    return map_page(assets).render(data)


def render_cells(results: RegionResults, settings: Settings, indicator: str) -> bytes:
    """The hexagon layer of the coverage map, as JSON."""
    index = results.cells_index(_cells_resolution(results, settings))
    target = _target(results, indicator)
    data = cells_layer_data(
        index.props, index.geoms, indicator=indicator, target_pct=target
    )
    return script_json(data)


class CommuneCells(NamedTuple):
    """``cells.parquet`` indexed for commune maps: the rows of each commune."""

    results: RegionResults
    rows: dict[str, np.ndarray]

    @classmethod
    def build(cls, results: RegionResults) -> CommuneCells:
        """Index the cell table once, so that a commune's map is a slice and a dump."""
        groups = results.cells.groupby("commune_code", sort=False).indices
        return cls(results, {str(c): np.asarray(p) for c, p in groups.items()})

    def of(self, code: str) -> pd.DataFrame:
        """One commune's cell rows, with ``<indicator>_pct`` (the results contract's)."""
        own = self.results.cells.iloc[self.rows.get(code, np.asarray([], dtype=int))]
        whole = own["households"].to_numpy(dtype=float)
        return own.assign(
            **{
                f"{ind}_pct": pct_array(own[f"{ind}_households"].to_numpy(float), whole)
                for ind in INDICATORS
            }
        )


def commune_cells(app: FastAPI, results: RegionResults) -> CommuneCells:
    """The app's :class:`CommuneCells` of ``results``, built on first use."""
    with _cells_lock:
        found: CommuneCells | None = getattr(app.state, "map_commune_cells", None)
        if found is None or found.results is not results:
            found = app.state.map_commune_cells = CommuneCells.build(results)
        return found


def render_commune(
    results: RegionResults,
    settings: Settings,
    code: str,
    indicator: str,
    cells: CommuneCells | None = None,
    layers: MapLayers | None = None,
    assets: MapAssets = COMMUNE_ASSETS,
) -> bytes:
    """One commune's map with its H3 cells, figures and plan, as an HTML page."""
    row = results.commune(code)  # raises UnknownCommune -> 404
    commune = results.communes[results.communes["commune_code"].astype(str) == code]
    own = (CommuneCells.build(results) if cells is None else cells).of(code)
    title = f"{row.get('commune_name')} — {row.get('district_name') or results.name}"
    data = commune_map_data(
        commune,
        results.commune_geometry(code),
        own,
        cell_polygons(own["h3"]),
        indicator=indicator,
        target_pct=_target(results, indicator),
        title=title,
        synthetic=results.synthetic,
        tiles_url=settings.tiles_url,
        attribution=settings.tiles_attribution,
        figures=mappanel.figures(results, code),
        plan=mappanel.plan(results, code),
        home=f"../coverage?indicator={indicator}",
        operator_groups=_layer_groups(results, layers, "../layers/"),
    )
    return map_page(assets).render(data)


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
    responses={**LAYER_200, 404: ERRORS[404] | {"description": "Unknown layer."}},
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
