"""``/docs``: Swagger UI served from this app (the ``swagger-ui-bundle`` wheel), no CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter()

SWAGGER_PREFIX = "/static/swagger"


def swagger_dir() -> Path:
    """Swagger UI's files, shipped by the ``swagger-ui-bundle`` wheel."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(swagger_ui_path)


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    """Interactive API documentation that works with no internet."""
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="geodx — API",
        swagger_js_url=f"{root}{SWAGGER_PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{SWAGGER_PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{root}{SWAGGER_PREFIX}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from elsewhere
    )
