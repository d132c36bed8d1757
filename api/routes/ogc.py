"""OGC API - Features, Part 1: Core, GeoJSON, OpenAPI 3.0.

Collections: ``communes``, ``districts``, ``cells`` (H3 hexagons; ``resolution`` rolls
them up) and ``gaps`` (communes below a target, largest gap first).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ResultsDep, base_url
from api.errors import NotFound
from api.landing import LANDING_CSP, landing_html
from api.results import RegionResults
from api.routes.items import ERRORS
from api.schemas_ogc import (
    CRS84,
    Collection,
    Collections,
    Conformance,
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
CollectionId = Annotated[
    str,
    Path(
        alias="collectionId",
        max_length=64,
        description="communes, districts, cells or gaps.",
    ),
]


def _link(
    request: Request, path: str, rel: str, media: str, title: str | None = None
) -> Link:
    return Link(
        href=base_url(request) + path,
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
async def landing(
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
        return HTMLResponse(
            landing_html(results, base_url(request)),
            headers={"Content-Security-Policy": LANDING_CSP},
        )
    return page


@router.get(
    "/conformance",
    response_model=Conformance,
    responses=ERRORS,
    operation_id="getConformance",
)
async def conformance() -> Conformance:
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
async def collections(request: Request, results: ResultsDep) -> Collections:
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
async def collection(
    request: Request, results: ResultsDep, collection_id: CollectionId
) -> Collection:
    """Metadata of one feature collection."""
    if collection_id not in COLLECTIONS:
        raise NotFound(f"no collection '{collection_id[:40]}'; see /collections")
    return _collection(request, results, collection_id)
