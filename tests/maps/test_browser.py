"""The map pages in headless Chromium, behind a path prefix, under their own CSP.

What a planner sees: operators' layers drawn when switched on (paths counted, the image
on the communes it was drawn for), a click on a commune opening its page, the page's
figures equal to communes.geojson, a phone-width layout with nothing off-screen; and no
request leaving the app or its prefix, no CSP violation, hostile names shown literally.
Screenshots go to build/screenshots/.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.maps.world import HOSTILE, HOSTILE_COMMUNE, HOSTILE_ID, HOSTILE_OPERATOR

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
WATCH = """window.__csp = []; window.__alerted = false;
window.alert = () => { window.__alerted = true; };
document.addEventListener("securitypolicyviolation",
    (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""
PATHS = "path.leaflet-interactive"


def open_page(
    browser: Any, url: str, width: int = 1000, height: int = 700
) -> tuple[Any, dict[str, list[Any]]]:
    page = browser.new_page(viewport={"width": width, "height": height})
    seen: dict[str, list[Any]] = {"errors": [], "requests": [], "failed": []}
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["errors"].append(m.text)
            if m.type in ("error", "warning") else None)  # fmt: skip
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("response", lambda r: seen["failed"].append((r.status, r.url))
            if r.status >= 400 else None)  # fmt: skip
    page.add_init_script(WATCH)
    page.goto(url, wait_until="load", timeout=30_000)
    page.locator(".geodx-box").nth(1).wait_for()
    return page, seen


def assert_clean(page: Any, seen: dict[str, list[Any]], base: str) -> None:
    """Nothing left the app (nor its prefix), failed, broke the CSP or ran from data."""
    assert seen["requests"] and all(u.startswith(base + "/") for u in seen["requests"])
    assert seen["failed"] == [] and seen["errors"] == []
    assert page.evaluate("window.__csp") == []
    assert page.evaluate("window.__alerted") is False
    text = page.locator("body").inner_text()
    assert "Nhà mạng 49" not in text and "Xã 49" not in text


def shown(row: dict[str, Any], value: Any) -> str:
    """A figure as the page shows it (the rule of maps.js, written again)."""
    if row["kind"] == "flag":
        return {True: row["yes"], False: row["no"]}.get(value, "–")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "–" if row["kind"] in ("number", "pct") else str(value or "")
    text = f"{abs(value):.0f}" if float(value).is_integer() else f"{abs(value):.2f}"
    whole, _, decimals = text.partition(".")
    grouped = f"{int(whole):,}".replace(",", " ")
    out = ("-" if value < 0 else "") + grouped + (f".{decimals}" if decimals else "")
    return out + (" %" if row["kind"] == "pct" else "")


def union(boxes: list[dict[str, float]]) -> list[float]:
    return [min(b["x"] for b in boxes), min(b["y"] for b in boxes),
            max(b["x"] + b["width"] for b in boxes),
            max(b["y"] + b["height"] for b in boxes)]  # fmt: skip


def test_operators_layers_are_drawn_when_switched_on(live: str, browser: Any) -> None:
    page, seen = open_page(browser, live + "/maps/coverage?indicator=fibre")
    try:
        paths = page.locator(PATHS)
        before = paths.count()
        assert before == 5 + 2  # communes, district outlines
        communes = union([paths.nth(i).bounding_box() for i in range(5)])
        box = page.locator(".geodx-ops").inner_text()
        assert HOSTILE_OPERATOR in box and HOSTILE_ID in box
        assert not any("/maps/layers" in u for u in seen["requests"]), "not inlined"
        ops = page.locator(".geodx-ops")
        ops.get_by_text("cáp quang / fibre (vnpt-fibre)").click()
        paths.nth(before + 2).wait_for()
        assert paths.count() == before + 3  # the three routes
        assert page.locator(f'{PATHS}[stroke="#1f78b4"]').count() == 3  # VNPT's colour
        ops.get_by_text(f"cáp quang / fibre ({HOSTILE_ID})").click()
        area = page.locator(f'{PATHS}[stroke="#e31a1c"]')  # the second operator's
        area.wait_for()
        area.hover()
        tip = page.locator(".leaflet-tooltip").last.inner_text()
        assert HOSTILE_OPERATOR in tip and "=cmd|' /C calc" in tip
        ops.get_by_text("4G (viettel-4g)").click()
        image = page.locator("img.leaflet-image-layer")
        image.wait_for()
        src = image.evaluate("img => img.src")  # resolved against the page
        assert src.startswith(live + "/maps/layers/viettel-4g?v=")
        drawn = image.bounding_box()  # drawn for the communes' bounds: on them
        got = [drawn["x"], drawn["y"], drawn["x"] + drawn["width"],
               drawn["y"] + drawn["height"]]  # fmt: skip
        assert all(abs(a - b) <= 1.5 for a, b in zip(got, communes, strict=True))
        assert "ngưỡng / threshold -105 dBm" in page.locator(".geodx-ops").inner_text()
        ops.get_by_text("4G · trạm / sites (vina-sites)").click()
        paths.nth(before + 4 + 2).wait_for()  # three sector points
        assert paths.count() == before + 4 + 3
        assert page.locator(f'{PATHS}[stroke="#6a3d9a"]').count() == 3
        layers = [u for u in seen["requests"] if "/maps/layers/" in u]
        assert len(layers) == 4  # one request per layer switched on, no more
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "maps-operator-layers.png"))
        assert_clean(page, seen, live)
    finally:
        page.close()


def test_a_click_on_a_commune_opens_its_page_with_its_figures(
    live: str, browser: Any, map_results: Path
) -> None:
    doc = json.loads((map_results / "communes.geojson").read_text(encoding="utf-8"))
    props = next(f["properties"] for f in doc["features"]
                 if f["properties"]["commune_code"] == "24133")  # fmt: skip
    page, seen = open_page(browser, live + "/maps/coverage?indicator=mobile")
    try:
        target = page.locator(PATHS).nth(2)  # commune 24133, the third feature
        box = target.bounding_box()  # its upper left part: clear of the legend
        target.click(position={"x": box["width"] / 4, "y": box["height"] / 4})
        page.wait_for_url(live + "/maps/communes/24133?indicator=mobile")
        page.locator(".geodx-side").wait_for()
        assert page.title() == f"{HOSTILE_COMMUNE} — Thành phố Buôn Ma Thuột"
        table = page.evaluate("""() => [...document.querySelectorAll(
            ".geodx-figures tr")].map(tr => [...tr.children].map(c => c.textContent))""")
        data = json.loads(page.locator("#geodx-map-data").text_content())
        rows = [r for s in data["figures"]["sections"] for r in s["rows"]]
        plan = data["plan"]["rows"]
        assert len(rows) >= 15 and len(plan) >= 4
        expected = [[r["label"], shown(r, props[r["column"]])] for r in rows]
        expected += [[r["label"], shown(r, r["value"])] for r in plan]
        assert [cells for cells in table if len(cells) == 2] == expected
        assert page.locator(".geodx-chart path.geodx-curve").count() == 1
        assert HOSTILE in page.locator(".geodx-title").inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "maps-commune-page.png"))
        page.get_by_text("Bản đồ tỉnh / region map").click()
        page.wait_for_url(live + "/maps/coverage?indicator=mobile")
        assert_clean(page, seen, live)
    finally:
        page.close()


def inside(box: dict[str, float], width: int, height: int) -> bool:
    right, bottom = box["x"] + box["width"], box["y"] + box["height"]
    return box["x"] >= 0 and box["y"] >= 0 and right <= width and bottom <= height


def within(box: dict[str, float], frame: dict[str, float]) -> bool:
    shifted = {**box, "x": box["x"] - frame["x"], "y": box["y"] - frame["y"]}
    return inside(shifted, int(frame["width"]), int(frame["height"]))


def test_the_pages_fit_a_phone(live: str, browser: Any) -> None:
    for name, path in [("coverage", "/maps/coverage?indicator=fibre"),
                       ("commune", "/maps/communes/24115")]:  # fmt: skip
        page, seen = open_page(browser, live + path, 360, 740)
        try:
            control = page.locator(".leaflet-control-layers")
            assert "expanded" not in str(control.get_attribute("class"))  # an icon
            summary = page.locator(".geodx-legend summary")
            summary.click()  # folded on a phone: one tap opens it
            assert page.locator(".geodx-legend").get_attribute("open") is not None
            assert "target: 90 %" in page.locator(".geodx-legend").inner_text()
            page.locator(".geodx-ops summary").click()
            assert "vnpt-fibre" in page.locator(".geodx-ops").inner_text()
            closes = time.monotonic() + 5  # the other box folds on the toggle event
            while page.locator(".geodx-legend").get_attribute("open") is not None:
                assert time.monotonic() < closes, "two boxes open on a phone"
                time.sleep(0.02)
            frame = page.locator(".folium-map").bounding_box()
            assert frame and inside(frame, 360, 740)
            assert not page.locator(".leaflet-control-zoom").is_visible()  # pinch
            boxes = page.locator(".leaflet-control:visible")  # in the map, uncut
            assert boxes.count() >= 5
            for i in range(boxes.count()):
                box = boxes.nth(i).bounding_box()
                assert box and within(box, frame), (name, i, box)
            side = page.locator(".geodx-side")
            for i in range(side.count()):  # the commune's figures: below the map
                box = side.nth(i).bounding_box()
                assert box and inside(box, 360, 740) and box["y"] >= frame["height"]
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"maps-phone-{name}.png"))
            assert_clean(page, seen, live)
        finally:
            page.close()
