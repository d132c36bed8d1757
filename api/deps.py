"""Annotated dependency aliases shared by the routes.

The dependencies are ``async``: they only read ``app.state`` or the query string, and a
plain ``def`` would cost a thread-pool round trip on every request.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError

from api.results import RegionResults
from api.settings import Settings


async def get_results(request: Request) -> RegionResults:
    """The region's results, loaded once by the lifespan."""
    results: RegionResults = request.app.state.results
    return results


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


ResultsDep = Annotated[RegionResults, Depends(get_results)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


INTEGER_PARAMS = ("limit", "offset", "resolution")
_INTEGER = re.compile(r"-?[0-9]+")


async def integers_are_integers(request: Request) -> None:
    """Refuse ``limit=3.0`` and the like: pydantic would read it as the integer 3.

    The OpenAPI document says these are integers, so anything else is a 422.
    """
    for name in INTEGER_PARAMS:
        for value in request.query_params.getlist(name):
            if not _INTEGER.fullmatch(value.strip()):
                raise RequestValidationError(
                    [
                        {
                            "loc": ("query", name),
                            "msg": "Input should be a valid integer",
                            "type": "int_parsing",
                            "input": value[:40],
                        }
                    ]  # fmt: skip
                )
