"""Exception -> HTTP status table, and the handlers that apply it once, at the edge."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors_vi import translate, validation_message
from geodx.errors import (
    CRSError,
    GeodxError,
    GeometryError,
    InputFileError,
    InvalidResolution,
    ManifestError,
    MissingColumn,
    ServiceUnavailable,
    UnknownCommune,
)

log = logging.getLogger("geodx.api")


class BadRequest(GeodxError, ValueError):
    """A query parameter that parses but makes no sense (bbox out of range, ...)."""


class NotFound(GeodxError, LookupError):
    """An unknown collection, feature or resource."""


STATUS_CODES: dict[type[Exception], int] = {
    BadRequest: 400,
    NotFound: 404,
    UnknownCommune: 404,
    InvalidResolution: 422,
    ServiceUnavailable: 503,
    ManifestError: 500,
    InputFileError: 500,
    MissingColumn: 500,
    CRSError: 500,
    GeometryError: 500,
    GeodxError: 500,
}


def wants_vietnamese(request: Request) -> bool:
    """``lang=vi`` in the query: messages in Vietnamese (English is the default)."""
    return request.query_params.get("lang") == "vi"


def _detail(request: Request, message: str, status: int) -> str:
    return translate(message, status) if wants_vietnamese(request) else message


def _respond(request: Request, exc: Exception, status: int) -> JSONResponse:
    if status >= 500:
        log.error("request failed: %s", exc, exc_info=exc)
    return JSONResponse(
        {"detail": _detail(request, str(exc), status)}, status_code=status
    )


# Parameters whose schema pattern is not a message a person can read.
_PATTERN_HINTS = {
    "bbox": "expected 4 or 6 comma-separated numbers in lon/lat (CRS84): "
    "west,south,east,north with lon in -180..180 and lat in -90..90",
}


def _message(err: dict[str, object]) -> str:
    loc = err.get("loc") or ()
    name = str(loc[-1]) if isinstance(loc, tuple | list) and loc else ""
    if err.get("type") == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(name, "not in the expected format")
        given = str(err.get("input"))
        given = given if len(given) <= 80 else given[:77] + "..."
        return f"{given!r} is not valid; {hint}"
    return str(err.get("msg", "invalid"))


def _describe_validation(exc: RequestValidationError, vi: bool = False) -> str:
    """One line naming each bad parameter: ``query parameter 'limit': ...``."""
    if vi:
        return "; ".join(validation_message(e) for e in exc.errors()) or (
            "yêu cầu không hợp lệ"
        )
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        where = (
            f"{loc[0]} parameter '{'.'.join(loc[1:])}'" if len(loc) > 1 else "request"
        )
        parts.append(f"{where}: {_message(err)}")
    return "; ".join(parts) or "invalid request"


def register_error_handlers(app: FastAPI) -> None:
    """Register one handler per entry of :data:`STATUS_CODES`, plus validation errors."""
    for exc_type, status in STATUS_CODES.items():

        def handler(
            request: Request, exc: Exception, status: int = status
        ) -> JSONResponse:
            return _respond(request, exc, status)

        app.add_exception_handler(exc_type, handler)

    def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        detail = _describe_validation(exc, wants_vietnamese(request))
        return JSONResponse({"detail": detail}, status_code=422)

    def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(
            {"detail": _detail(request, str(exc.detail), exc.status_code)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
