"""``/docs``: Swagger UI served from this app (the ``swagger-ui-bundle`` wheel), no CDN."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from api.deps import base_url
from api.landing import csp_hash

router = APIRouter()

SWAGGER_PREFIX = "/static/swagger"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def swagger_dir() -> Path:
    """Swagger UI's files, shipped by the ``swagger-ui-bundle`` wheel."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(swagger_ui_path)


def docs_csp(page: str) -> str:
    """A CSP allowing this app's own files and exactly the page's inline scripts."""
    hashes = " ".join(csp_hash(s) for s in _INLINE_SCRIPT.findall(page))
    return (
        f"default-src 'self'; script-src 'self' {hashes}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    """Interactive API documentation that works with no internet."""
    root = urlsplit(base_url(request)).path.rstrip("/")  # same origin: paths only
    page = get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="geodx — API",
        swagger_js_url=f"{root}{SWAGGER_PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{SWAGGER_PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{root}{SWAGGER_PREFIX}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from elsewhere
    )
    html = bytes(page.body).decode("utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_csp(html)})
