"""Vector tiles of the communes and H3 cells (:mod:`api.tiles`), and their TileJSON.

``/tiles/{layer}/{z}/{x}/{y}.mvt`` (Mapbox Vector Tile, gzip when accepted),
``/tiles/{layer}/{z}/{x}/{y}.geojson`` (the per-tile blob the map pages draw) and
``/tiles/{layer}.json`` (TileJSON 3.0.0). Tiles are built in a worker thread, once per
results version (the ``ETag`` is the version's, as every answer's).
"""

from __future__ import annotations

import gzip
import threading
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.deps import ResultsDep, SettingsDep, base_url
from api.middleware import accepts_gzip
from api.results import RegionResults
from api.schemas import ErrorMessage
from api.tiles import MAX_ZOOM, TileSource, tile, tilejson
from geodx.pages import script_json

router = APIRouter(prefix="/tiles", tags=["tiles"])
Layer = Literal["communes", "cells"]
Indicator = Literal["fibre", "mobile", "mobile_5g"]
MVT_TYPE = "application/vnd.mapbox-vector-tile"
ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorMessage, "description": "The tile is outside the tile matrix."},
    422: {"model": ErrorMessage, "description": "A parameter has the wrong value."},
}
_lock = threading.Lock()
Z = Annotated[int, Path(ge=0, le=MAX_ZOOM, description="Zoom level.")]
XY = Annotated[int, Path(ge=0, le=2**MAX_ZOOM, description="Tile column or row.")]


def tile_source(request: Request, results: RegionResults) -> TileSource:
    """The app's tiles of ``results``, made on first use (one per results version)."""
    with _lock:
        found: TileSource | None = getattr(request.app.state, "tile_source", None)
        if found is None or found.results is not results:
            found = request.app.state.tile_source = TileSource(results)
        return found


def _headers(settings: SettingsDep) -> dict[str, str]:
    return {"Cache-Control": settings.cache_control}


@router.get(
    "/{layer}.json",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "TileJSON."},
               **ERRORS},
    operation_id="getTileJSON",
)  # fmt: skip
async def layer_tilejson(
    request: Request, results: ResultsDep, settings: SettingsDep, layer: Layer
) -> Response:
    """TileJSON 3.0.0 of a layer: its MVT URL template, bounds, zooms and fields."""
    url = f"{base_url(request)}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"
    body = script_json(tilejson(layer, url, results))
    return Response(body, media_type="application/json", headers=_headers(settings))


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={200: {"content": {MVT_TYPE: {}}, "description": "A vector tile."},
               **ERRORS},
    operation_id="getVectorTile",
)  # fmt: skip
async def vector_tile(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    layer: Layer,
    z: Z,
    x: XY,
    y: XY,
) -> Response:
    """One Mapbox Vector Tile: the communes, or the cells of the zoom's H3 level."""
    t = tile(z, x, y)  # NotFound outside the matrix
    source = tile_source(request, results)
    body = await anyio.to_thread.run_sync(
        source.cached,
        ("mvt", layer, z, x, y),
        lambda: gzip.compress(source.mvt(layer, t), 6, mtime=0),
    )
    headers = {**_headers(settings), "Vary": "Accept-Encoding"}
    if accepts_gzip(request.headers):
        headers["Content-Encoding"] = "gzip"
    else:
        body = gzip.decompress(body)
    return Response(body, media_type=MVT_TYPE, headers=headers)


@router.get(
    "/{layer}/{z}/{x}/{y}.geojson",
    response_class=Response,
    responses={200: {"content": {"application/json": {}},
                     "description": "The tile's features as a map overlay (shapes, "
                     "fill colours, tooltips, keys)."}, **ERRORS},
    operation_id="getMapTile",
)  # fmt: skip
async def map_tile(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    layer: Layer,
    z: Z,
    x: XY,
    y: XY,
    indicator: Annotated[
        Indicator, Query(description="Which coverage to colour.")
    ] = "fibre",
) -> Response:
    """One tile as the map pages draw it: geometries, fill colours and tooltips."""
    t = tile(z, x, y)
    source = tile_source(request, results)
    body = await anyio.to_thread.run_sync(
        source.cached,
        ("json", layer, z, x, y, indicator),
        lambda: script_json(source.overlay(layer, t, indicator)),
    )
    return Response(body, media_type="application/json", headers=_headers(settings))
