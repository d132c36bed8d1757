"""The FastAPI application: ``create_app(settings)`` and its lifespan."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from api.deps import integers_are_integers
from api.errors import register_error_handlers
from api.middleware import Gzip, HeadAsGet, SecurityHeaders, TrimHeap, VersionETag
from api.openapi import bound_resolution, errors_as_json, to_openapi_30
from api.results import RegionResults, load_results
from api.routes import (
    brief,
    coverage,
    docs,
    health,
    history,
    items,
    maps,
    ogc,
    planning,
    scenarios,
    tiles,
)
from api.settings import Settings
from geodx.errors import InputFileError
from geodx.heap import trim_heap
from geodx.outdir_snapshot import snapshot

log = logging.getLogger("geodx.api")

#: A service the composition root adds to the app: built once per worker at start-up
#: from the settings, kept as ``app.state.<name>`` (``None`` when it cannot start).
ServiceFactory = Callable[[Settings], Any]


def leaflet_dir() -> Path:
    """Leaflet's files (JS, CSS, images), shipped by the ``django-js-lib-leaflet`` wheel.

    Only the static files are used; Django is neither needed nor imported.
    """
    return Path(str(files("js_lib_leaflet") / "static" / "js_lib_leaflet"))


def results_version(results: RegionResults, folder: Path) -> str:
    """The version of loaded results: theirs, else the snapshot's of ``folder``."""
    version = getattr(results, "version", None)
    return str(version) if version else snapshot(folder).version


def load_pinned(settings: Settings) -> tuple[RegionResults, str]:
    """Load the results folder; refuse another version than the one pinned.

    ``geodx serve`` pins one version for all its workers (``results_version``): a
    worker that would load other files fails to start instead of serving them.

    Raises
    ------
    InputFileError
        The folder holds another version than the pinned one.
    """
    results = load_results(settings.results_dir)
    version = results_version(results, settings.results_dir)
    pinned = settings.results_version
    if pinned is not None and version != pinned:
        raise InputFileError(
            f"{settings.results_dir}: holds results version {version[:40]}, not the "
            f"version {pinned[:40]} geodx serve pinned; restart geodx serve"
        )
    return results, version


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the region's results once, into ``app.state``."""
    settings: Settings = app.state.settings
    app.state.results, app.state.version = load_pinned(settings)
    app.state.map_cache = {}
    for name, factory in app.state.service_factories.items():
        setattr(app.state, name, factory(settings))
    # The loaded tables never change: keep the collector from re-scanning them in every
    # full collection (those pauses showed as p99 spikes under load).
    gc.collect()
    gc.freeze()
    trim_heap()  # what reading the files freed goes back to the system
    log.info(
        "serving results version %s from %s", app.state.version, settings.results_dir
    )
    # the cell table and the collections, read while the first pages are answered
    threading.Thread(
        target=app.state.results.prepare, name="results", daemon=True
    ).start()
    if settings.warm_maps:
        threading.Thread(
            target=maps.warm, args=(app,), name="warm-maps", daemon=True
        ).start()
    yield


def create_app(
    settings: Settings | None = None,
    services: Mapping[str, ServiceFactory] | None = None,
) -> FastAPI:
    """Build the service for one region's results folder.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to ``Settings()`` (``GEODX_*`` environment variables).
    services : mapping of name to factory, optional
        Services that need more than the results (the prepared region for lookups and
        scenarios, the history store): ``app.state.<name> = factory(settings)`` at
        start-up. ``api/`` never imports their implementations; ``app/`` passes them.

    Returns
    -------
    FastAPI
    """
    settings = settings or Settings()
    app = FastAPI(
        title="geodx",
        version="0.1.0",
        summary="Fibre and 4G/5G coverage of households and communes, against targets.",
        description="OGC API - Features (communes, districts, H3 cells, gaps), tables for "
        "officials (JSON, CSV, Excel) and offline Leaflet maps.",
        lifespan=lifespan,
        docs_url=None,  # served by api.routes.docs, from local files
        redoc_url=None,
        dependencies=[Depends(integers_are_integers)],
    )
    app.state.settings = settings
    app.state.service_factories = dict(services or {})
    for name in app.state.service_factories:
        setattr(app.state, name, None)  # until start-up builds it
    register_error_handlers(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "HEAD"],
        expose_headers=["ETag"],
    )
    # added innermost first: the ETag and security headers wrap every other answer
    for middleware in (Gzip, HeadAsGet, SecurityHeaders, VersionETag, TrimHeap):
        app.add_middleware(middleware)
    for module in (ogc, items, coverage, brief, maps, health, docs, planning, history):
        app.include_router(module.router)
    app.include_router(tiles.router)
    app.include_router(scenarios.router)  # writes: same-origin (CORS is GET/HEAD)
    app.mount(maps.LEAFLET_PREFIX, StaticFiles(directory=leaflet_dir()), name="leaflet")
    app.mount(
        docs.SWAGGER_PREFIX, StaticFiles(directory=docs.swagger_dir()), name="swagger"
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            doc = errors_as_json(to_openapi_30(doc))
            results = getattr(app.state, "results", None)
            if results is None:  # before startup: do not cache an unbounded document
                return doc
            app.openapi_schema = bound_resolution(doc, results.h3_resolution)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
