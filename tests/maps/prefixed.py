"""The service behind a path prefix, as a reverse proxy serves it (``GEODX_BASE_URL``).

Requests under ``PREFIX`` reach the app with the prefix stripped (a proxy's
``strip_prefix``); anything else is a 404 that the app never sees, so a page that loads
something root-relative shows it at once.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/geodx"


def prefixed(inner: ASGIApp) -> ASGIApp:
    """``inner`` served under ``PREFIX`` only."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if not path.startswith(PREFIX + "/"):
                outside = PlainTextResponse("outside " + PREFIX, status_code=404)
                await outside(scope, receive, send)
                return
            inner_path = path[len(PREFIX) :]
            scope = {**scope, "path": inner_path, "raw_path": inner_path.encode()}
        await inner(scope, receive, send)

    return app
