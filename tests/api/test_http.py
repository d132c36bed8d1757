"""HTTP hygiene: HEAD, gzip, security headers, ETag/304, links from the base URL, CORS."""

from __future__ import annotations

import gzip
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.landing import LANDING_CSP
from api.main import create_app
from api.middleware import NON_HTML_CSP, Gzip, SecurityHeaders
from api.settings import Settings
from geodx.outdir_snapshot import snapshot

# one of each kind of answer: JSON, GeoJSON, HTML, CSV, XLSX, errors, a static file
PATHS = [
    "/",
    "/?f=html",
    "/conformance",
    "/collections",
    "/collections/communes",
    "/collections/communes/items",
    "/collections/communes/items/24121",
    "/collections/cells/items?resolution=7",
    "/collections/gaps/items?indicator=mobile",
    "/summary",
    "/gaps?format=csv",
    "/gaps?format=xlsx",
    "/maps/coverage?indicator=fibre",
    "/maps/communes/24121",
    "/openapi.json",
    "/docs",
    "/healthz",
    "/static/leaflet/leaflet.js",
    "/collections/nowhere/items",
    "/collections/communes/items?limit=0",
]
IDENTITY = {"accept-encoding": "identity"}


def without_date(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in ("date",)}


@pytest.mark.parametrize("path", PATHS)
def test_head_answers_as_get_without_a_body(client: TestClient, path: str) -> None:
    for enc in ("identity", "gzip"):
        get = client.get(path, headers={"accept-encoding": enc})
        head = client.head(path, headers={"accept-encoding": enc})
        assert head.status_code == get.status_code != 405
        assert head.content == b""
        want = without_date(get.headers)
        if get.status_code == 200 and "timeStamp" in get.text:  # a page's own clock
            want.pop("content-length", None)
            assert "content-length" in head.headers
        got = without_date(head.headers)
        got = {k: v for k, v in got.items() if k in want}
        assert got == want


def test_every_get_route_of_the_openapi_document_answers_head(
    client: TestClient,
) -> None:
    doc = client.get("/openapi.json").json()
    ids = {"collectionId": "communes", "featureId": "24121", "commune_code": "24121"}
    for path, item in doc["paths"].items():
        assert "get" in item
        url = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "x"), path)
        r = client.head(url)
        assert r.status_code != 405, url
        assert r.status_code == client.get(url).status_code, url


@pytest.mark.parametrize(
    "path",
    [
        "/collections/communes/items",
        "/openapi.json",
        "/?f=html",
        "/maps/coverage?indicator=mobile",
        "/collections/cells/items",
    ],
)
def test_text_bodies_are_gzipped_for_clients_that_accept_it(
    big_client: TestClient, path: str
) -> None:
    plain = big_client.get(path, headers=IDENTITY)
    assert "content-encoding" not in plain.headers
    with big_client.stream("GET", path, headers={"accept-encoding": "gzip"}) as r:
        wire = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in r.headers["vary"].lower()
    assert "accept-encoding" in plain.headers["vary"].lower()
    assert int(r.headers["content-length"]) == len(wire) < len(plain.content)
    body = gzip.decompress(wire)
    if b"timeStamp" in body:  # a page carries its own clock
        body = re.sub(rb'"timeStamp":"[^"]*"', b"", body)
        plain_body = re.sub(rb'"timeStamp":"[^"]*"', b"", plain.content)
    else:
        plain_body = plain.content
    assert body == plain_body


def test_binary_and_tiny_bodies_are_not_gzipped(client: TestClient) -> None:
    gz = {"accept-encoding": "gzip"}
    assert "content-encoding" not in client.get("/gaps?format=xlsx", headers=gz).headers
    assert "content-encoding" not in client.get("/healthz", headers=gz).headers
    assert (
        "content-encoding"
        not in client.get("/", headers={"accept-encoding": "gzip;q=0"}).headers
    )


def test_a_big_page_is_compressed_once_off_the_event_loop() -> None:
    page = ("<p>" + "Xã Hòa Phú " * 40_000 + "</p>").encode()  # cached: one object

    loop_threads: set[int] = set()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        loop_threads.add(threading.get_ident())
        headers = [(b"content-type", b"text/html; charset=utf-8"),
                   (b"content-length", str(len(page)).encode())]  # fmt: skip
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": page})

    calls: list[int] = []
    real = gzip.compress

    def counting(data: bytes, *args: object, **kwargs: object) -> bytes:
        calls.append(threading.get_ident())
        return real(data, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp, TestClient(Gzip(app)) as c:
        mp.setattr(gzip, "compress", counting)
        loop_thread = c.portal.call(threading.get_ident)  # type: ignore[union-attr]
        bodies = [
            c.get("/", headers={"accept-encoding": "gzip"}).content for _ in "abc"
        ]
    assert bodies == [page] * 3
    assert len(calls) == 1 and calls[0] != loop_thread


@pytest.mark.parametrize("path", PATHS)
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    if not r.headers["content-type"].startswith("text/html"):
        assert r.headers["content-security-policy"] == NON_HTML_CSP


def test_html_pages_of_this_app_carry_their_own_strict_csp(client: TestClient) -> None:
    r = client.get("/?f=html")
    assert r.headers["content-security-policy"] == LANDING_CSP
    assert "unsafe-inline" not in LANDING_CSP and "script-src" not in LANDING_CSP
    docs = client.get("/docs").headers["content-security-policy"]
    assert (
        "script-src 'self' 'sha256-" in docs
        and "unsafe-inline" not in docs.split("style-src")[0]
    )


def test_a_route_own_csp_is_kept() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG001
        headers = [(b"content-type", b"application/json"),
                   (b"content-security-policy", b"default-src 'self'"),
                   (b"referrer-policy", b"strict-origin")]  # fmt: skip
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    r = TestClient(SecurityHeaders(app)).get("/")
    assert r.headers["content-security-policy"] == "default-src 'self'"
    assert r.headers["referrer-policy"] == "strict-origin"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_every_response_carries_the_results_version_as_etag(
    client: TestClient, results_dir: Path
) -> None:
    etag = f'W/"{snapshot(results_dir).version}"'
    for path in PATHS:
        r = client.get(path)
        if path.startswith("/static/"):
            assert r.headers["etag"]  # the file's own
        else:
            assert r.headers["etag"] == etag, path


def test_if_none_match_gives_304_only_for_what_exists(client: TestClient) -> None:
    r = client.get("/collections/communes/items")
    etag = r.headers["etag"]
    for method in ("GET", "HEAD"):
        again = client.request(
            method, "/collections/communes/items", headers={"if-none-match": etag}
        )
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        assert (
            "content-length" not in again.headers
            or again.headers["content-length"] == "0"
        )
        assert again.headers["cache-control"] == r.headers["cache-control"]
    for tag in ('"other"', 'W/"other", "x"'):
        assert client.get("/summary", headers={"if-none-match": tag}).status_code == 200
    assert (
        client.get("/summary", headers={"if-none-match": f'"x", {etag}'}).status_code
        == 304
    )
    missing = client.get("/collections/nowhere/items", headers={"if-none-match": etag})
    assert missing.status_code == 404 and missing.json()["detail"]


def links_of(client: TestClient, headers: dict[str, str]) -> list[str]:
    hrefs = []
    for path in ("/", "/collections", "/collections/communes",
                 "/collections/communes/items?limit=1&offset=1",
                 "/collections/communes/items/24121"):  # fmt: skip
        body = client.get(
            path, headers={"accept": "application/json", **headers}
        ).json()
        hrefs += [link["href"] for link in body.get("links", [])]
        for c in body.get("collections", []):
            hrefs += [link["href"] for link in c["links"]]
    html = client.get("/?f=html", headers=headers).text
    hrefs += re.findall(r'href="([^"]+)"', html)
    return hrefs


def test_links_never_come_from_the_host_header(client: TestClient) -> None:
    hrefs = links_of(
        client, {"host": "evil.example", "x-forwarded-host": "evil.example"}
    )
    assert len(hrefs) > 15
    assert not [h for h in hrefs if "evil" in h]
    json_links = [h for h in hrefs if h.startswith("http")]
    assert json_links and all(h.startswith("http://testserver/") for h in json_links)


def test_links_are_built_from_the_configured_base_url(results_dir: Path) -> None:
    base = "https://geodx.example.vn/api"
    app = create_app(Settings(results_dir=results_dir, base_url=base + "/",
                              default_limit=1, warm_maps=False))  # fmt: skip
    with TestClient(app) as c:
        hrefs = links_of(c, {"host": "evil.example"})
        page = c.get("/collections/communes/items?offset=1").json()
        docs = c.get("/docs").text
    assert hrefs and all(h.startswith(base + "/") for h in hrefs), hrefs
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert rels["next"].startswith(base + "/collections/communes/items?")
    assert "offset=2" in rels["next"] and "offset=0" in rels["prev"]
    assert '"/api/openapi.json"' in docs or "'/api/openapi.json'" in docs


def test_base_url_must_be_an_absolute_http_url() -> None:
    for bad in ("geodx.example.vn/api", "javascript:alert(1)", "https://x/?a=1"):
        with pytest.raises(ValueError, match="base_url"):
            Settings(base_url=bad)


@pytest.mark.parametrize(
    ("env", "want"),
    [
        ("https://a.example", ["https://a.example"]),
        (
            "https://a.example, https://b.example",
            ["https://a.example", "https://b.example"],
        ),
        ('["https://a.example"]', ["https://a.example"]),
        ("*", ["*"]),
    ],
)
def test_cors_origins_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: str, want: list[str]
) -> None:
    monkeypatch.setenv("GEODX_CORS_ORIGINS", env)
    assert Settings().cors_origins == want


def test_cors_allows_only_the_listed_origins(
    monkeypatch: pytest.MonkeyPatch, results_dir: Path
) -> None:
    monkeypatch.setenv("GEODX_CORS_ORIGINS", "https://a.example,https://b.example")
    app = create_app(Settings(results_dir=results_dir, warm_maps=False))
    with TestClient(app) as c:
        ok = c.get("/summary", headers={"origin": "https://b.example"})
        other = c.get("/summary", headers={"origin": "https://c.example"})
    assert ok.headers["access-control-allow-origin"] == "https://b.example"
    assert "etag" in ok.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers


@pytest.fixture
def busy_app(results_dir: Path) -> Iterator[object]:
    yield create_app(Settings(results_dir=results_dir, warm_maps=False))


def test_healthz_answers_while_the_thread_pool_is_full(busy_app: object) -> None:
    """Every worker thread busy (renders): /healthz still answers from the event loop."""

    async def scenario() -> int:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = 1
        release = anyio.Event()
        blocked = anyio.Event()

        def hold() -> None:
            anyio.from_thread.run_sync(blocked.set)
            anyio.from_thread.run(release.wait)

        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, hold)
            await blocked.wait()
            transport = httpx.ASGITransport(app=busy_app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                with anyio.fail_after(2):
                    r = await c.get("/healthz")
            release.set()
        return r.status_code

    assert anyio.run(scenario) == 200


def test_an_unexpected_error_is_a_500_with_the_security_headers(
    results_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(results_dir=results_dir))

    def boom() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/boom")
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error"}
    assert "secret" not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "secret internal detail" in caplog.text
