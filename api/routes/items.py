"""OGC API - Features items: one documented path per collection, with its own parameters.

``/collections/communes/items`` and friends are listed in the OpenAPI document with
exactly the parameters each accepts (``resolution`` for cells, ``indicator`` for
gaps); the generic ``/collections/{collectionId}/items`` only answers 404 for others.

Handlers are ``async``: a page is a slice of bytes serialised at startup (microseconds
of work), so a thread-pool hop would cost more than the work. Rolling cells up to a new
resolution is the exception and runs in the thread pool.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from fastapi.types import DecoratedCallable
from starlette.concurrency import run_in_threadpool

from api.deps import ResultsDep, SettingsDep, base_url, public_url
from api.errors import BadRequest, NotFound
from api.features import FeatureIndex, collection_body, feature_with_links, parse_bbox
from api.lazycells import LazyCells
from api.schemas import ErrorMessage
from api.schemas_ogc import CRS84
from api.settings import Settings

router = APIRouter(tags=["OGC API - Features"])

GEOJSON = "application/geo+json"
# Query parameters with a meaning of their own; every other one filters on a property.
RESERVED = frozenset({"bbox", "limit", "offset", "f", "bbox-crs", "lang"})
ERRORS: dict[int | str, dict[str, object]] = {
    400: {
        "model": ErrorMessage,
        "description": "Bad request (bbox, filter, parameter).",
    },
    404: {"model": ErrorMessage, "description": "Unknown collection or feature."},
    422: {
        "model": ErrorMessage,
        "description": "A parameter has the wrong type or range.",
    },
}
FEATURE_SCHEMA = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string"},
        "geometry": {"type": "object", "nullable": True},
        "properties": {"type": "object", "nullable": True},
    },
}
PAGE_SCHEMA = {
    "type": "object",
    "required": ["type", "features", "numberMatched", "numberReturned", "links"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": FEATURE_SCHEMA},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0},
        "timeStamp": {"type": "string", "format": "date-time"},
        "links": {"type": "array", "items": {"type": "object"}},
    },
}
PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A GeoJSON FeatureCollection, paged by next/prev links.",
        "content": {GEOJSON: {"schema": PAGE_SCHEMA}},
    }
}
ONE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A GeoJSON Feature.",
        "content": {GEOJSON: {"schema": FEATURE_SCHEMA}},
    }
}

_LON = r"-?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[0-9]{1,2})(?:\.[0-9]+)?)"
_LAT = r"-?(?:90(?:\.0+)?|[0-8]?[0-9](?:\.[0-9]+)?)"
_HEIGHT = r"-?[0-9]{1,5}(?:\.[0-9]+)?"
BBOX_PATTERN = rf"^(?:{_LON},{_LAT},{_LON},{_LAT}|{_LON},{_LAT},{_HEIGHT},{_LON},{_LAT},{_HEIGHT})$"
BBoxQ = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=BBOX_PATTERN,
        description="west,south,east,north in lon/lat (CRS84), decimal degrees; "
        "south must not be above north (400). West above east crosses the antimeridian.",
    ),
]
LimitQ = Annotated[
    int | None,
    Query(
        ge=1, description="Features per page; above the maximum it is lowered to it."
    ),
]
OffsetQ = Annotated[int, Query(ge=0, le=10**9, description="Features to skip.")]
FormatQ = Annotated[Literal["json", "geojson"] | None, Query(description="Format.")]
CodeQ = Annotated[
    str | None, Query(max_length=64, description="Keep features with this code.")
]
FlagQ = Annotated[bool | None, Query(description="Keep features with this flag.")]
ResolutionQ = Annotated[
    int | None, Query(ge=0, le=15, description="H3 resolution to roll the cells up to.")
]
IndicatorQ = Annotated[
    Literal["fibre", "mobile"], Query(description="Which target: fibre or mobile.")
]
FeatureIdP = Annotated[
    str, Path(alias="featureId", max_length=64, description="Feature id.")
]


class GeoJSONResponse(Response):
    """A response with the ``application/geo+json`` media type."""

    media_type = GEOJSON


def page_of(
    request: Request,
    settings: Settings,
    index: FeatureIndex | LazyCells,
    bbox: str | None,
    limit: int | None,
    offset: int,
    flags: dict[str, bool | None] | None = None,
    own: frozenset[str] = frozenset(),
) -> GeoJSONResponse:
    """One page of a collection, filtered by bbox and by properties.

    Query parameters other than the common ones and the route's ``own`` ones filter
    on properties; one naming no property is a bad request.
    """
    reserved = RESERVED | own
    filters = {k: v for k, v in request.query_params.items() if k not in reserved}
    for name, flag in (flags or {}).items():  # pydantic also accepts 1/yes/on
        if flag is not None:
            filters[name] = "true" if flag else "false"
    if request.query_params.get("bbox-crs", CRS84) != CRS84:
        raise BadRequest("bbox-crs: only CRS84 (lon/lat) is supported")
    selected = index.select(parse_bbox(bbox) if bbox is not None else None, filters)
    size = min(limit or settings.default_limit, settings.max_limit)
    page = selected[offset : offset + size]
    links = [{"href": public_url(request), "rel": "self", "type": GEOJSON}]
    if offset + size < len(selected):
        nxt = request.url.include_query_params(offset=offset + size, limit=size)
        links.append({"href": public_url(request, nxt), "rel": "next", "type": GEOJSON})
    if offset > 0:
        prev = request.url.include_query_params(
            offset=max(0, offset - size), limit=size
        )
        links.append(
            {"href": public_url(request, prev), "rel": "prev", "type": GEOJSON}
        )
    body = collection_body(
        [index.features[i] for i in page],
        {
            **index.members,  # "synthetic" (issue 6 D13)
            "numberMatched": len(selected),
            "numberReturned": len(page),
            "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "links": links,
        },
    )
    return GeoJSONResponse(body, headers={"Cache-Control": settings.cache_control})


def one_of(
    request: Request,
    settings: Settings,
    index: FeatureIndex | LazyCells,
    cid: str,
    fid: str,
) -> GeoJSONResponse:
    """One feature, with self and collection links."""
    feature = index.feature(fid)
    if feature is None:
        raise NotFound(f"no feature '{fid[:40]}' in collection '{cid}'")
    base = base_url(request)
    links = [
        {"href": public_url(request), "rel": "self", "type": GEOJSON},
        {
            "href": f"{base}/collections/{cid}",
            "rel": "collection",
            "type": "application/json",
        },
    ]
    return GeoJSONResponse(
        feature_with_links(feature, links),
        headers={"Cache-Control": settings.cache_control},
    )


def _route(
    path: str, operation_id: str, one: bool = False
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    return router.get(
        path,
        response_class=GeoJSONResponse,
        responses={**(ONE if one else PAGE), **ERRORS},
        operation_id=operation_id,
    )


@_route("/collections/communes/items", "getCommunes")
async def communes(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    bbox: BBoxQ = None,
    limit: LimitQ = None,
    offset: OffsetQ = 0,
    district_code: CodeQ = None,  # noqa: ARG001 - read with the other filters
    commune_code: CodeQ = None,  # noqa: ARG001
    fibre_target_met: FlagQ = None,
    mobile_covered: FlagQ = None,
    f: FormatQ = None,  # noqa: ARG001 - GeoJSON is the only format
) -> Response:
    """Communes with their figures, targets and gaps."""
    flags = {"fibre_target_met": fibre_target_met, "mobile_covered": mobile_covered}
    return page_of(
        request, settings, results.communes_index, bbox, limit, offset, flags
    )


@_route("/collections/districts/items", "getDistricts")
async def districts(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    bbox: BBoxQ = None,
    limit: LimitQ = None,
    offset: OffsetQ = 0,
    district_code: CodeQ = None,  # noqa: ARG001 - read with the other filters
    fibre_target_met: FlagQ = None,
    f: FormatQ = None,  # noqa: ARG001
) -> Response:
    """Districts: the same figures rolled up."""
    flags = {"fibre_target_met": fibre_target_met}
    return page_of(
        request, settings, results.districts_index, bbox, limit, offset, flags
    )


@_route("/collections/cells/items", "getCells")
async def cells(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    bbox: BBoxQ = None,
    limit: LimitQ = None,
    offset: OffsetQ = 0,
    resolution: ResolutionQ = None,
    f: FormatQ = None,  # noqa: ARG001
) -> Response:
    """H3 hexagons with the totals of every household in them."""
    index = await run_in_threadpool(results.cells_index, resolution)
    return page_of(
        request, settings, index, bbox, limit, offset, own=frozenset({"resolution"})
    )


@_route("/collections/gaps/items", "getGapFeatures")
async def gaps(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    bbox: BBoxQ = None,
    limit: LimitQ = None,
    offset: OffsetQ = 0,
    indicator: IndicatorQ = "fibre",
    district_code: CodeQ = None,  # noqa: ARG001 - read with the other filters
    f: FormatQ = None,  # noqa: ARG001
) -> Response:
    """Communes below a target, largest number of missing households first."""
    index = results.gaps_index[indicator]
    return page_of(
        request, settings, index, bbox, limit, offset, own=frozenset({"indicator"})
    )


@_route("/collections/communes/items/{featureId}", "getCommune", one=True)
async def commune(
    request: Request, results: ResultsDep, settings: SettingsDep, feature_id: FeatureIdP
) -> Response:
    """One commune, by its code."""
    return one_of(request, settings, results.communes_index, "communes", feature_id)


@_route("/collections/districts/items/{featureId}", "getDistrict", one=True)
async def district(
    request: Request, results: ResultsDep, settings: SettingsDep, feature_id: FeatureIdP
) -> Response:
    """One district, by its code."""
    return one_of(request, settings, results.districts_index, "districts", feature_id)


@_route("/collections/cells/items/{featureId}", "getCell", one=True)
async def cell(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    feature_id: FeatureIdP,
    resolution: ResolutionQ = None,
) -> Response:
    """One H3 cell, by its index (at ``resolution``, default the table's)."""
    index = await run_in_threadpool(results.cells_index, resolution)
    return one_of(request, settings, index, "cells", feature_id)


@_route("/collections/gaps/items/{featureId}", "getGapFeature", one=True)
async def gap(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    feature_id: FeatureIdP,
    indicator: IndicatorQ = "fibre",
) -> Response:
    """One commune below the target, by its code."""
    return one_of(request, settings, results.gaps_index[indicator], "gaps", feature_id)


CollectionIdP = Annotated[str, Path(alias="collectionId", max_length=64)]


@router.get("/collections/{collectionId}/items", include_in_schema=False)
async def unknown_items(collection_id: CollectionIdP) -> None:
    """Any other collection: 404."""
    raise NotFound(f"no collection '{collection_id[:40]}'; see /collections")


@router.get("/collections/{collectionId}/items/{featureId}", include_in_schema=False)
async def unknown_item(collection_id: CollectionIdP, feature_id: FeatureIdP) -> None:  # noqa: ARG001
    """Any other collection: 404."""
    raise NotFound(f"no collection '{collection_id[:40]}'; see /collections")
