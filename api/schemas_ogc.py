"""Pydantic models of the OGC API - Features documents: landing page, collections."""

from __future__ import annotations

from pydantic import BaseModel, Field

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


class Link(BaseModel):
    """A link of the OGC API (RFC 8288 fields)."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    """The OGC API landing page."""

    title: str
    description: str
    synthetic: bool = Field(description="True when the region's data are synthetic.")
    links: list[Link]


class Conformance(BaseModel):
    """Conformance classes the service implements."""

    conformsTo: list[str]  # noqa: N815 - name fixed by OGC API - Features


class SpatialExtent(BaseModel):
    """Bounding box of a collection, lon/lat."""

    bbox: list[list[float]]
    crs: str = CRS84


class Extent(BaseModel):
    """Extent of a collection."""

    spatial: SpatialExtent | None = None


class Collection(BaseModel):
    """Metadata of one feature collection."""

    id: str
    title: str
    description: str
    itemType: str = "feature"  # noqa: N815 - OGC name
    crs: list[str] = [CRS84]
    extent: Extent | None = None
    links: list[Link]


class Collections(BaseModel):
    """Every feature collection of the service."""

    links: list[Link]
    collections: list[Collection]
