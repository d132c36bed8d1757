"""OGC API - Features, Part 1: Core, GeoJSON, OpenAPI 3.0.

Collections: ``communes``, ``districts``, ``cells`` (H3 hexagons; ``resolution`` rolls
them up) and ``gaps`` (communes below a target, largest gap first).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ResultsDep, SettingsDep
from api.errors import BadRequest, NotFound
from api.features import collection_body, feature_with_links, parse_bbox
from api.landing import landing_html
from api.results import RegionResults
from api.schemas import (
    CRS84,
    Collection,
    Collections,
    Conformance,
    ErrorMessage,
    Extent,
    LandingPage,
    Link,
    SpatialExtent,
)

router = APIRouter(tags=["OGC API - Features"])

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
COLLECTIONS = {
    "communes": (
        "Communes",
        "Coverage of every commune: households, fibre and 4G/5G "
        "figures, targets and gaps; per-layer fields layer_<slug>_*.",
    ),
    "districts": ("Districts", "The same figures rolled up per district."),
    "cells": (
        "H3 cells",
        "One H3 hexagon per cell with the totals of every household in "
        "it (all its communes, and households outside every commune). "
        "`resolution` rolls them up to a coarser level.",
    ),
    "gaps": (
        "Gaps",
        "Communes below a target, largest number of missing households first "
        "(`indicator=fibre` or `mobile`).",
    ),
}
# Query parameters with a meaning of their own; every other one filters on a property.
RESERVED = {"bbox", "limit", "offset", "resolution", "indicator", "f", "bbox-crs"}
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
CollectionId = Annotated[
    str,
    Path(
        alias="collectionId",
        max_length=64,
        description="communes, districts, cells or gaps.",
    ),
]


class GeoJSONResponse(Response):
    """A response with the ``application/geo+json`` media type."""

    media_type = GEOJSON


def _link(
    request: Request, path: str, rel: str, media: str, title: str | None = None
) -> Link:
    return Link(
        href=str(request.url_for("root")).rstrip("/") + path,
        rel=rel,
        type=media,
        title=title,
    )


@router.get(
    "/",
    name="root",
    response_model=LandingPage,
    responses={200: {"content": {"text/html": {}}}, **ERRORS},
    operation_id="getLandingPage",
)
def landing(
    request: Request,
    results: ResultsDep,
    f: Annotated[
        Literal["json", "html"] | None, Query(description="Output format.")
    ] = None,
) -> Response | LandingPage:
    """Landing page: links to the API definition, conformance, collections and maps."""
    links = [
        _link(request, "/", "self", JSON, "This document"),
        _link(request, "/openapi.json", "service-desc", OPENAPI, "API definition"),
        _link(request, "/docs", "service-doc", "text/html", "API documentation"),
        _link(request, "/conformance", "conformance", JSON, "Conformance classes"),
        _link(request, "/collections", "data", JSON, "Feature collections"),
    ]
    page = LandingPage(
        title=f"geodx: {results.name}"
        + (" (synthetic data)" if results.synthetic else ""),
        description="Fibre and 4G/5G coverage of households and communes against targets.",
        synthetic=results.synthetic,
        links=links,
    )
    accept = request.headers.get("accept", "")
    if f == "html" or (f is None and accept.startswith("text/html")):
        return HTMLResponse(landing_html(results))
    return page


@router.get(
    "/conformance",
    response_model=Conformance,
    responses=ERRORS,
    operation_id="getConformance",
)
def conformance() -> Conformance:
    """Conformance classes implemented by this service."""
    return Conformance(conformsTo=CONFORMANCE)


def _collection(request: Request, results: RegionResults, cid: str) -> Collection:
    title, description = COLLECTIONS[cid]
    bbox = results.collection(cid).extent
    base = f"/collections/{cid}"
    return Collection(
        id=cid,
        title=title,
        description=description,
        extent=Extent(spatial=SpatialExtent(bbox=[bbox], crs=CRS84)) if bbox else None,
        links=[
            _link(request, base, "self", JSON, title),
            _link(request, base + "/items", "items", GEOJSON, f"{title} (GeoJSON)"),
        ],
    )


@router.get(
    "/collections",
    response_model=Collections,
    response_model_exclude_none=True,
    responses=ERRORS,
    operation_id="getCollections",
)
def collections(request: Request, results: ResultsDep) -> Collections:
    """The feature collections: communes, districts, cells, gaps."""
    return Collections(
        links=[_link(request, "/collections", "self", JSON)],
        collections=[_collection(request, results, cid) for cid in COLLECTIONS],
    )


@router.get(
    "/collections/{collectionId}",
    response_model=Collection,
    response_model_exclude_none=True,
    responses=ERRORS,
    operation_id="describeCollection",
)
def collection(
    request: Request, results: ResultsDep, collection_id: CollectionId
) -> Collection:
    """Metadata of one feature collection."""
    if collection_id not in COLLECTIONS:
        raise NotFound(f"no collection '{collection_id[:40]}'; see /collections")
    return _collection(request, results, collection_id)


def _only_for(cid: str, name: str, value: object, wanted: str) -> None:
    if value is not None and cid != wanted:
        raise BadRequest(f"'{name}' applies to the {wanted} collection only")


@router.get(
    "/collections/{collectionId}/items",
    response_class=GeoJSONResponse,
    responses={200: {"description": "A GeoJSON FeatureCollection."}, **ERRORS},
    operation_id="getFeatures",
)
def items(  # noqa: PLR0913 - the OGC API's query parameters
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    collection_id: CollectionId,
    bbox: Annotated[
        str | None,
        Query(max_length=200, description="west,south,east,north in lon/lat (CRS84)."),
    ] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            description="Features per page; above the maximum it is lowered to it.",
        ),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Features to skip.")] = 0,
    resolution: Annotated[
        int | None,
        Query(ge=0, le=15, description="cells only: H3 resolution to roll up to."),
    ] = None,
    indicator: Annotated[
        Literal["fibre", "mobile"] | None, Query(description="gaps only: which target.")
    ] = None,
    district_code: Annotated[
        str | None, Query(max_length=64, description="Filter.")
    ] = None,
    commune_code: Annotated[
        str | None, Query(max_length=64, description="Filter.")
    ] = None,
    fibre_target_met: Annotated[bool | None, Query(description="Filter.")] = None,
    mobile_covered: Annotated[bool | None, Query(description="Filter.")] = None,
    f: Annotated[
        Literal["json", "geojson"] | None, Query(description="Format.")
    ] = None,
) -> Response:
    """Features of a collection, filtered by bbox and properties, paged."""
    _only_for(collection_id, "resolution", resolution, "cells")
    _only_for(collection_id, "indicator", indicator, "gaps")
    index = results.collection(
        collection_id, resolution=resolution, indicator=indicator or "fibre"
    )
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    for name, flag in (
        ("fibre_target_met", fibre_target_met),
        ("mobile_covered", mobile_covered),
    ):
        if flag is not None:
            filters[name] = "true" if flag else "false"
    if request.query_params.get("bbox-crs", CRS84) != CRS84:
        raise BadRequest("bbox-crs: only CRS84 (lon/lat) is supported")
    selected = index.select(parse_bbox(bbox) if bbox is not None else None, filters)
    size = min(limit or settings.default_limit, settings.max_limit)
    page = selected[offset : offset + size]
    links = [
        Link(href=str(request.url), rel="self", type=GEOJSON).model_dump(
            exclude_none=True
        )
    ]
    if offset + size < len(selected):
        nxt = request.url.include_query_params(offset=offset + size, limit=size)
        links.append({"href": str(nxt), "rel": "next", "type": GEOJSON})
    if offset > 0:
        prev = request.url.include_query_params(
            offset=max(0, offset - size), limit=size
        )
        links.append({"href": str(prev), "rel": "prev", "type": GEOJSON})
    body = collection_body(
        [index.features[i] for i in page],
        {
            "numberMatched": len(selected),
            "numberReturned": len(page),
            "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "links": links,
        },
    )
    return GeoJSONResponse(body, headers={"Cache-Control": settings.cache_control})


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    response_class=GeoJSONResponse,
    responses={200: {"description": "A GeoJSON Feature."}, **ERRORS},
    operation_id="getFeature",
)
def item(
    request: Request,
    results: ResultsDep,
    settings: SettingsDep,
    collection_id: CollectionId,
    feature_id: Annotated[
        str,
        Path(
            alias="featureId",
            max_length=64,
            description="Commune or district code, or H3 cell.",
        ),
    ],
    resolution: Annotated[
        int | None, Query(ge=0, le=15, description="cells only.")
    ] = None,
    indicator: Annotated[
        Literal["fibre", "mobile"] | None, Query(description="gaps only.")
    ] = None,
) -> Response:
    """One feature of a collection."""
    _only_for(collection_id, "resolution", resolution, "cells")
    _only_for(collection_id, "indicator", indicator, "gaps")
    index = results.collection(
        collection_id, resolution=resolution, indicator=indicator or "fibre"
    )
    feature = index.feature(feature_id)
    if feature is None:
        raise NotFound(
            f"no feature '{feature_id[:40]}' in collection '{collection_id}'"
        )
    links = [
        {"href": str(request.url), "rel": "self", "type": GEOJSON},
        _link(
            request, f"/collections/{collection_id}", "collection", JSON
        ).model_dump(),
    ]
    return GeoJSONResponse(
        feature_with_links(feature, links),
        headers={"Cache-Control": settings.cache_control},
    )
