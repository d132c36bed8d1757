"""HTTP hygiene as small ASGI middlewares.

- :class:`HeadAsGet`: ``HEAD`` on every ``GET`` route (the GET's headers, no body).
- :class:`Gzip`: JSON, GeoJSON, HTML, CSV bodies gzip-compressed for clients that
  accept it; big bodies (map pages) are compressed in a worker thread, once.
- :class:`SecurityHeaders`: ``nosniff``, ``Referrer-Policy`` and a strict default CSP
  for non-HTML responses; a header a route set is never overwritten.
- :class:`VersionETag`: the results version as a weak ``ETag`` on every response,
  ``If-None-Match`` answered ``304`` for ``GET``/``HEAD``.
- :class:`TrimHeap`: after a request that took long (it read a table or built a page),
  the memory it freed goes back to the system.

uvicorn's missing header timeout is :mod:`api.protocol`.
"""

from __future__ import annotations

import gzip
import logging
import threading
import time
from collections import OrderedDict

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: A request that took at least this long may have read a table or built a page:
#: :class:`TrimHeap` hands back what it freed (a fast answer allocates little).
TRIM_AFTER_S = 0.1
NON_HTML_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
COMPRESSIBLE = (
    "application/json",
    "application/geo+json",
    "application/vnd.oai.openapi+json",
    "text/html",
    "text/csv",
    "text/plain",
    "text/css",
    "text/javascript",
    "application/javascript",
)


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


class HeadAsGet:
    """Answer ``HEAD`` as the route's ``GET`` would, without the body (RFC 9110 §9.3.2).

    The headers (``Content-Length`` included) are those of the ``GET``; the OpenAPI
    document is unchanged, as HEAD is implied by GET.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request as ``GET`` and drop the body messages."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
            elif not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b""})

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def accepts_gzip(headers: Headers) -> bool:
    """True when ``Accept-Encoding`` names ``gzip`` (or ``*``) with a non-zero q.

    >>> accepts_gzip(Headers({"accept-encoding": "br, gzip;q=0.5"}))
    True
    >>> accepts_gzip(Headers({"accept-encoding": "gzip;q=0, identity"}))
    False
    """
    for item in headers.get("accept-encoding", "").lower().split(","):
        coding, _, params = item.partition(";")
        if coding.strip() not in ("gzip", "*"):
            continue
        q = params.strip().removeprefix("q=").strip() if "q=" in params else "1"
        try:
            return float(q) > 0
        except ValueError:
            return False
    return False


class _GzipCache:
    """Compressed copies of big bodies, keyed by the body itself.

    Cached pages are the same ``bytes`` object on every request, so the lookup costs
    an identity check (a ``bytes`` object keeps its hash). Bounded by source bytes.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[bytes, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, body: bytes) -> bytes | None:
        with self._lock:
            out = self._items.get(body)
            if out is not None:
                self._items.move_to_end(body)
            return out

    def put(self, body: bytes, compressed: bytes) -> None:
        if len(body) > self.max_bytes // 4:
            return
        with self._lock:
            if body in self._items:
                return
            self._items[body] = compressed
            self._size += len(body)
            while self._size > self.max_bytes:
                old, _ = self._items.popitem(last=False)
                self._size -= len(old)


class Gzip:
    """gzip for text bodies (``minimum_size`` bytes and more) when the client accepts it.

    Only responses sent in one body message are compressed (every route of this app;
    streamed static files pass unchanged). ``Vary: Accept-Encoding`` is set on every
    compressible response so caches keep the two forms apart.
    """

    def __init__(
        self,
        app: ASGIApp,
        minimum_size: int = 1024,
        level: int = 6,
        inline_below: int = 64 * 1024,
        cache_bytes: int = 32 * 1024 * 1024,  # of a worker's 1 GB; was 128 MB
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.level = level
        self.inline_below = inline_below
        self.cache = _GzipCache(cache_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold the response start until the body is known, then send it compressed."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = accepts_gzip(Headers(scope=scope))
        start: Message | None = None

        async def compressing(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            first, start = start, None
            await self._send(first, message, wanted, send)

        await self.app(scope, receive, compressing)

    async def _send(
        self, start: Message, message: Message, wanted: bool, send: Send
    ) -> None:
        headers = MutableHeaders(raw=list(start["headers"]))
        start = {**start, "headers": headers.raw}
        body: bytes = message.get("body", b"")
        if _media_type(headers) not in COMPRESSIBLE or "content-encoding" in headers:
            await send(start)
            await send(message)
            return
        headers.add_vary_header("Accept-Encoding")
        if (
            not wanted
            or message.get("more_body", False)
            or len(body) < self.minimum_size
        ):
            await send(start)
            await send(message)
            return
        compressed = await self.compress(body)
        headers["content-encoding"] = "gzip"
        headers["content-length"] = str(len(compressed))
        await send(start)
        await send({"type": "http.response.body", "body": compressed})

    async def compress(self, body: bytes) -> bytes:
        """Compress ``body``: small ones here, big ones in a thread (off the event loop)."""
        if len(body) < self.inline_below:
            return gzip.compress(body, self.level, mtime=0)
        cached = self.cache.get(body)
        if cached is None:
            cached = await run_in_threadpool(gzip.compress, body, self.level, mtime=0)
            self.cache.put(body, cached)
        return cached


log = logging.getLogger("geodx.api")
INTERNAL_ERROR = b'{"detail":"internal error"}'


class SecurityHeaders:
    """``X-Content-Type-Options``, ``Referrer-Policy`` and, for non-HTML, a strict CSP.

    Set with setdefault semantics: a route's own header (a map page's CSP with its
    script hashes) is kept as it is. An exception no handler of the error table
    answered becomes a logged 500 here, inside this middleware, so that it carries
    the same headers (Starlette would answer it outside every middleware).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message["headers"]))
                message = {**message, "headers": headers.raw}
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if _media_type(headers) != "text/html":
                    headers.setdefault("content-security-policy", NON_HTML_CSP)
            await send(message)

        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await with_headers(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            if started:
                raise
            log.exception(
                "request failed: %s %s", scope.get("method"), scope.get("path")
            )
            await _internal_error(with_headers)


async def _internal_error(send: Send) -> None:
    """A 500 with a message safe to show; the traceback went to the log."""
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(INTERNAL_ERROR)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": INTERNAL_ERROR})


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison of ``etag`` with an ``If-None-Match`` list (RFC 9110 §13.1.2).

    >>> etag_matches('"a", W/"b"', 'W/"b"')
    True
    >>> etag_matches("*", 'W/"b"')
    True
    >>> etag_matches('"c"', 'W/"b"')
    False
    """
    if if_none_match.strip() == "*":
        return True
    want = etag.strip().removeprefix("W/")
    return any(t.strip().removeprefix("W/") == want for t in if_none_match.split(","))


class VersionETag:
    """``ETag: W/"<results version>"`` on every response; ``304`` when it matches.

    The version is ``app.state.version``, set by the lifespan from the loaded results.
    Only a ``200`` to a ``GET`` (or ``HEAD``) becomes a ``304``: an unknown resource
    stays a ``404`` whatever the client sends. A response with its own ``ETag`` (a
    static file) keeps it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tag the response; turn a matching conditional GET into ``304``."""
        state = getattr(scope.get("app"), "state", None)
        version = getattr(state, "version", None)
        if scope["type"] != "http" or version is None:
            await self.app(scope, receive, send)
            return
        condition = Headers(scope=scope).get("if-none-match")
        conditional = condition is not None and scope["method"] in ("GET", "HEAD")
        not_modified = False

        async def tagged(message: Message) -> None:
            nonlocal not_modified
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message["headers"]))
                message = {**message, "headers": headers.raw}
                etag = headers.setdefault("etag", f'W/"{version}"')
                status = message["status"]
                if conditional and status == 200 and etag_matches(str(condition), etag):
                    not_modified = True
                    message = {**message, "status": 304, "headers": _for_304(headers)}
            elif message["type"] == "http.response.body" and not_modified:
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app(scope, receive, tagged)


def _for_304(headers: MutableHeaders) -> list[tuple[bytes, bytes]]:
    """The headers a ``304`` keeps (RFC 9110 §15.4.5): no body, no length or type."""
    dropped = {b"content-length", b"content-type", b"content-encoding"}
    return [(k, v) for k, v in headers.raw if k.lower() not in dropped]


class TrimHeap:
    """After a request of at least ``TRIM_AFTER_S``, freed memory goes to the system.

    The allocators (Arrow's, glibc's) keep what a page's build freed (the plan table's
    read, a pyramid level, a map's cells): the national worker that answered every kind
    of page held 90 MB more than it used. :func:`geodx.heap.trim_heap` runs in a
    thread of its own once the answer is sent (never one of the pool's: a full pool
    must not hold the request), one trim at a time; the response is not touched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer, then trim when the answer took long."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        await self.app(scope, receive, send)
        if time.perf_counter() - started >= TRIM_AFTER_S:
            trim_in_background()


_trimming = threading.Lock()


def trim_in_background() -> None:
    """:func:`geodx.heap.trim_heap` in a thread named ``trim-heap``, unless one runs."""
    if not _trimming.acquire(blocking=False):
        return  # the running trim hands back this request's memory too

    def run() -> None:
        from geodx.heap import trim_heap

        try:
            trim_heap()
        finally:
            _trimming.release()

    threading.Thread(target=run, name="trim-heap", daemon=True).start()
