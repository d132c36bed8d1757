"""Annotated dependency aliases shared by the routes.

The dependencies are ``async``: they only read ``app.state`` or the query string, and a
plain ``def`` would cost a thread-pool round trip on every request.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import URL

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


def base_url(request: Request) -> str:
    """The public URL of the service, without a trailing ``/``.

    ``GEODX_BASE_URL`` when set; else the address the connection was accepted on
    (the server's own socket, and uvicorn's ``root_path``). Never the ``Host``
    header, which the client chooses (Host injection).
    """
    settings: Settings = request.app.state.settings
    if settings.base_url:
        return settings.base_url
    root = str(request.scope.get("root_path", "")).rstrip("/")
    server = request.scope.get("server")
    if not server:
        return root  # no socket address (a unit test's scope): root-relative links
    host, port = str(server[0]), server[1]
    host = f"[{host}]" if ":" in host else host
    scheme = str(request.scope.get("scheme", "http"))
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{root}"


def public_url(request: Request, url: URL | None = None) -> str:
    """``url`` (default: the request's) with its origin replaced by :func:`base_url`."""
    url = url or request.url
    root = str(request.scope.get("root_path", ""))
    path = url.path
    if root and path.startswith(root):
        path = path[len(root) :]
    return base_url(request) + path + (f"?{url.query}" if url.query else "")


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
