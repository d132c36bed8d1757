"""Annotated dependency aliases shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.results import RegionResults
from api.settings import Settings


def get_results(request: Request) -> RegionResults:
    """The region's results, loaded once by the lifespan."""
    results: RegionResults = request.app.state.results
    return results


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


ResultsDep = Annotated[RegionResults, Depends(get_results)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
