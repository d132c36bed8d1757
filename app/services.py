"""The services ``geodx serve`` adds to the API, and the app factory its workers build.

``api/`` serves results; what needs more than the results (the prepared region for point
lookups and scenarios, the history store) is built here, in the composition root, and
handed to :func:`api.main.create_app` as ``services``: ``app.state.<name>`` holds each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.main import ServiceFactory

#: name on ``app.state`` → ``"module:function"`` building it from the settings.
#: Imported lazily, so a worker only loads what it serves.
SERVICES: dict[str, str] = {
    "live": "app.live:open_live_region",
    "scenarios": "app.scenario_store:open_scenarios",
    "history": "api.routes.history:history_service",
}


def _factory(target: str) -> ServiceFactory:
    import importlib

    module, _, name = target.partition(":")
    built: ServiceFactory = getattr(importlib.import_module(module), name)
    return built


def services() -> dict[str, ServiceFactory]:
    """Every service's factory, by its name on ``app.state``."""
    return {name: _factory(target) for name, target in SERVICES.items()}


def served_app() -> FastAPI:
    """The app one ``geodx serve`` worker runs: settings from ``GEODX_*``, all services.

    The region for ``/lookup`` is prepared in the background unless
    ``GEODX_LIVE_IN_BACKGROUND`` says otherwise: the worker serves at once.
    """
    import os

    from api.main import create_app
    from api.settings import Settings

    settings = Settings()
    if "GEODX_LIVE_IN_BACKGROUND" not in os.environ:
        settings.live_in_background = True
    return create_app(settings, services=services())
