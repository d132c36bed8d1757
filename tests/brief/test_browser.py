"""The brief in headless Chromium: under its CSP, offline, printed to an A4 PDF."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.brief.conftest import NAMES, communes

ORIGIN = "http://geodx.test"  # answered by the app itself: no request leaves it
WATCH_CSP = """window.__csp = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def open_brief(
    browser: Any, client: TestClient, path: str
) -> tuple[Any, dict[str, list[str]]]:
    """The page in a fresh tab; every request it makes is served by ``client``."""
    page = browser.new_page(viewport={"width": 900, "height": 1200})
    seen: dict[str, list[str]] = {"requests": [], "errors": []}

    def serve(route: Any) -> None:
        url = route.request.url
        seen["requests"].append(url)
        if not url.startswith(ORIGIN + "/"):
            route.abort()
            return
        answer = client.get(url.removeprefix(ORIGIN))
        route.fulfill(status=answer.status_code, headers=dict(answer.headers),
                      body=answer.content)  # fmt: skip

    page.route("**/*", serve)
    page.on("console", lambda m: seen["errors"].append(m.text)
            if m.type in ("error", "warning") else None)  # fmt: skip
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.add_init_script(WATCH_CSP)
    page.goto(ORIGIN + path, wait_until="load")
    return page, seen


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


@pytest.mark.parametrize("served", ["demo", "with_history"])
def test_chromium_shows_and_prints_the_brief(
    browser: Any, served: str, demo_out: Path, request: pytest.FixtureRequest
) -> None:
    """The busiest commune's brief (most cells; its plan; two vintages' trend)."""
    found = request.getfixturevalue(served)
    demo: TestClient = found if served == "demo" else found[0]
    feats = [f["properties"] for f in communes(demo_out)]
    props = max(feats, key=lambda p: (p["fibre_gap_households"] > 0, p["households"]))
    langs = ("vi", "en") if served == "demo" else ("vi",)
    for lang in langs:
        path = f"/communes/{props['commune_code']}/brief?lang={lang}"
        page, seen = open_brief(browser, demo, path)
        try:
            assert seen["requests"] == [ORIGIN + path]  # nothing else is fetched
            assert page.evaluate("window.__csp") == [] and seen["errors"] == []
            assert page.evaluate("document.scripts.length") == 0
            assert page.locator("h1").inner_text() == props["commune_name"]
            assert page.locator("#cells path").count() > 10
            box = page.locator("#map").bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 300
            SHOTS.mkdir(parents=True, exist_ok=True)
            assert (page.locator("#trend-chart").count() == 1) == (served != "demo")
            assert page.locator("#plan-chart").count() == 1
            name = f"brief-{lang}" + ("-history" if served != "demo" else "")
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
            page.emulate_media(media="print")
            pdf = page.pdf(format="A4", print_background=True)
            (SHOTS / f"{name}.pdf").write_bytes(pdf)
            assert pdf.startswith(b"%PDF") and 1 < pdf_pages(pdf) <= 3
            # no table wider than the printed page (nothing clipped)
            wide = page.evaluate("""() => [...document.querySelectorAll('table')]
                .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).length""")
            assert wide == 0
        finally:
            page.close()


def test_chromium_shows_hostile_names_as_text(
    browser: Any, hostile: TestClient, demo_out: Path
) -> None:
    code = communes(demo_out)[0]["properties"]["commune_code"]
    path = f"/communes/{code}/brief"
    with hostile as client:
        page, seen = open_brief(browser, client, path)
    try:
        dialogs: list[str] = []
        page.on("dialog", lambda d: dialogs.append(d.message))
        assert page.locator("h1").inner_text() == NAMES["commune_name"]
        assert page.locator("#district-name").inner_text() == NAMES["district_name"]
        assert page.locator("#region").inner_text() == NAMES["region"]
        assert page.locator("img, script, b").count() == 0
        assert page.evaluate("window.__csp") == [] and seen["errors"] == []
        assert dialogs == [] and seen["requests"] == [ORIGIN + path]
    finally:
        page.close()
