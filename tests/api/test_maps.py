"""Folium maps: a constant page, every data value in its JSON blob, nothing run from data.

Asserted on the served HTML and JSON (layer names, legend, bounds, offline assets, CSP),
and in headless Chromium under the page's own CSP (what a person sees: text, tooltips).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes import maps as routes
from api.settings import Settings
from geodx.maps import DivergingScale
from geodx.pages import map_page
from tests.api.conftest import live_server

BLOB = re.compile(
    r'<script type="application/json" id="geodx-map-data">(.*?)</script>', re.S
)
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def blob(page: str) -> dict[str, Any]:
    """The map's data: the page's one JSON blob."""
    found = BLOB.findall(page)
    assert len(found) == 1, "a map page has exactly one JSON blob"
    data: dict[str, Any] = json.loads(found[0])
    return data


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value (keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def shows(data: dict[str, Any], text: str) -> bool:
    """True when ``text`` is part of a string of the map's data."""
    return any(text in s for s in strings(data))


def overlay_names(data: dict[str, Any]) -> list[str]:
    return [o["name"] for o in data["overlays"]]


@pytest.mark.parametrize("indicator", ["fibre", "mobile", "mobile_5g"])
def test_coverage_map_has_layers_legend_and_label(
    client: TestClient, indicator: str
) -> None:
    r = client.get(f"/maps/coverage?indicator={indicator}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert (
        "/static/leaflet/leaflet.js" in page and "/static/leaflet/leaflet.css" in page
    )
    assert routes.ASSETS.script in page and routes.ASSETS.stylesheet in page
    assert not EXTERNAL.search(page), "the page loads something from another host"
    assert "cdn" not in page.lower()
    data = blob(page)
    names = overlay_names(data)
    assert any("H3 hexagons" in n for n in names)
    assert "Ranh giới huyện / district boundaries" in names
    assert data["legend"]["pivot"].endswith(
        {
            "fibre": "target: 90 %",
            "mobile": "covered at: 95 %",
            "mobile_5g": "reference (4G/5G rule): 95 %",
        }[indicator]
    )
    assert sum(n for _, _, n in data["legend"]["classes"]) == 5  # every commune
    assert "SYNTHETIC DATA" in data["synthetic"]
    assert data["title"] == "Tỉnh Đắk Lắk (thử nghiệm)"
    # the five 0.02° communes: 108.00-108.06 E, 12.60-12.64 N
    (south, west), (north, east) = data["bounds"]
    assert [south, west, north, east] == pytest.approx([12.60, 108.00, 12.64, 108.06])
    assert len(data["shapes"]["communes"]) == 5


def test_the_map_script_builds_the_layer_control(client: TestClient) -> None:
    r = client.get("/maps/" + routes.ASSETS.script)
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "L.control.layers" in r.text and "textContent" in r.text
    assert "innerHTML" not in r.text, "data never becomes HTML"
    css = client.get("/maps/" + routes.ASSETS.stylesheet)
    assert css.status_code == 200 and ".geodx-box" in css.text


def test_per_operator_layers_follow_the_indicator(client: TestClient) -> None:
    fibre = overlay_names(blob(client.get("/maps/coverage?indicator=fibre").text))
    mobile = overlay_names(blob(client.get("/maps/coverage?indicator=mobile").text))
    five = overlay_names(blob(client.get("/maps/coverage?indicator=mobile_5g").text))
    assert "VNPT — fibre (vnpt-fibre)" in fibre
    assert not any("viettel-4g" in n for n in fibre)
    assert "Viettel — 4G (viettel-4g)" in mobile
    assert "Viettel — 5G (Viettel 5G)" in mobile
    assert (
        not any("viettel-4g" in n for n in five) and "Viettel — 5G (Viettel 5G)" in five
    )


def test_hexagons_are_loaded_on_demand(client: TestClient, results_dir: Path) -> None:
    page = client.get("/maps/coverage?indicator=mobile").text
    (hexagons,) = [o for o in blob(page)["overlays"] if "url" in o]
    assert hexagons["show"] is False and hexagons["url"].startswith("coverage/cells?")
    cells = pd.read_parquet(results_dir / "cells.parquet")
    assert not any(h in page for h in cells["h3"]), "no hexagon is in the page"
    r = client.get("/maps/" + hexagons["url"])  # as the page resolves it
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    layer = r.json()
    tip = dict(zip([c["label"] for c in layer["tip"]["columns"]],
                   layer["tip"]["values"], strict=True))  # fmt: skip
    assert sorted(tip["Ô H3 / H3 cell"]) == sorted(cells["h3"].unique())
    assert sum(tip["Số hộ / households"]) == cells["households"].sum()
    assert sum(tip["Hộ có 4G/5G"]) == cells["mobile_households"].sum()
    assert len(layer["shapes"]) == len(layer["fill"]) == cells["h3"].nunique()


def test_names_are_data_not_html(client: TestClient) -> None:
    page = client.get("/maps/coverage").text
    assert "<Tu>" not in page and '"Mới" &' not in page
    data = blob(page)
    main = data["overlays"][0]["tip"]
    assert 'Xã Ea <Tu> "Mới" & Co' in main["values"][0]  # exact, once
    commune = client.get("/maps/communes/24133").text
    assert "<Tu>" not in commune
    assert shows(blob(commune), 'Xã Ea <Tu> "Mới" & Co')


def test_commune_map_shows_its_cells(client: TestClient, results_dir: Path) -> None:
    cells = pd.read_parquet(results_dir / "cells.parquet")
    own = cells[cells["commune_code"] == "24121"]
    data = blob(client.get("/maps/communes/24121?indicator=mobile").text)
    assert data["title"] == "Xã Hòa Phú — Thành phố Buôn Ma Thuột"
    assert len(data["shapes"]["cells"]) == len(own) and data["shapes"]["commune"][0]
    h3 = [o for o in data["overlays"] if o["shapes"] == "cells"]
    assert [o["name"] for o in h3] == [
        "H3 — Cáp quang / fibre (%)",
        "H3 — 4G/5G (%)",
        "H3 — 5G (%)",
    ]
    assert [o["show"] for o in h3] == [False, True, False]
    for o in h3:
        assert len(o["fill"]) == len(own)
        assert sorted(o["tip"]["values"][0]) == sorted(own["h3"])
    assert "Ranh giới xã / commune boundary" in overlay_names(data)
    assert sum(n for _, _, n in data["legend"]["classes"]) == len(own)
    west, south, east, north = 108.00, 12.60, 108.02, 12.62
    (s, w), (n, e) = data["bounds"]
    assert w <= west and s <= south and e >= east and n >= north


def test_leaflet_is_served_by_the_app(client: TestClient) -> None:
    js = client.get("/static/leaflet/leaflet.js")
    assert js.status_code == 200 and b"Leaflet" in js.content[:200]
    assert client.get("/static/leaflet/leaflet.css").status_code == 200
    assert client.get("/static/leaflet/images/layers.png").status_code == 200


def test_diverging_scale_is_centred_on_the_target() -> None:
    scale = DivergingScale(90.0)
    assert scale.colour(89.99) != scale.colour(90.0)
    assert scale.colour(0.0) == scale.colour(30.0) != scale.colour(50.0)
    assert [label for label, _ in scale.classes()][4] == "90–95 %"
    full = DivergingScale(100.0)
    assert full.colour(99.9) != full.colour(100.0)
    assert len(full.classes()) == 6


def test_a_base_map_is_optional_and_its_attribution_is_text(results_dir: Path) -> None:
    url = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
    settings = Settings(results_dir=results_dir, tiles_url=url, warm_maps=False,
                        tiles_attribution="<b>Sở TT&TT</b>")  # fmt: skip
    with TestClient(create_app(settings)) as c:
        r = c.get("/maps/coverage")
    tiles = blob(r.text)["tiles"]
    assert tiles == {"name": "Base map", "url": url, "attribution": "<b>Sở TT&TT</b>"}
    assert "<b>Sở" not in r.text  # in the blob as \u003cb\u003e; the script escapes it
    img = next(d for d in r.headers["content-security-policy"].split("; ")
               if d.startswith("img-src"))  # fmt: skip
    assert img.split() == ["img-src", "'self'", "data:", "http://127.0.0.1:9"]


@pytest.mark.parametrize(
    "path", ["/maps/coverage?indicator=mobile", "/maps/communes/24121"]
)
def test_map_pages_allow_only_their_own_scripts(client: TestClient, path: str) -> None:
    r = client.get(path)
    csp = dict(
        d.split(" ", 1) for d in r.headers["content-security-policy"].split("; ")
    )
    assert csp["default-src"] == "'none'" and csp["connect-src"] == "'self'"
    scripts = csp["script-src"].split()
    assert scripts[0] == "'self'" and "'unsafe-inline'" not in scripts
    inline = INLINE_SCRIPT.findall(r.text)
    assert inline, "folium's map script is inline"
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in scripts
    assert len(scripts) == 1 + len(set(inline))
    assert "'unsafe-inline'" not in csp["style-src"]


def test_the_page_skeleton_is_the_same_in_every_process() -> None:
    """Workers serve the same bytes and CSP (a 304 from another worker stays valid)."""
    code = (
        "from api.routes.maps import ASSETS; from geodx.pages import map_page; "
        "import hashlib; p = map_page(ASSETS); "
        "print(hashlib.sha256(p.head + p.tail).hexdigest(), p.script_hashes)"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    page = map_page(routes.ASSETS)
    here = f"{hashlib.sha256(page.head + page.tail).hexdigest()} {page.script_hashes}\n"
    assert there == here


def test_map_renders_run_in_threads_a_few_at_a_time(
    results_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slow renders neither block the event loop nor take every worker thread.

    Each render blocks until the test lets it go, as a CPU-bound one would hold its
    thread: ``/healthz`` answers while ``RENDER_THREADS`` renders hold theirs and the
    other requests wait for one, before any render has finished. Evidence of order and
    counts, not of the machine's speed.
    """
    release, running, most, done = threading.Event(), [0], [0], [0]
    lock = threading.Lock()

    def slow_render(*_: Any, **__: Any) -> bytes:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(60)  # blocking, as a CPU-bound render would be
        with lock:
            running[0] -= 1
            done[0] += 1
        return b"<html></html>"

    def until(ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 60
        while not ready():
            assert most[0] <= routes.RENDER_THREADS, f"{most[0]} renders at once"
            assert time.monotonic() < deadline, "timed out (the event loop blocked?)"
            time.sleep(0.01)

    monkeypatch.setattr(routes, "render_commune", slow_render)
    settings = Settings(results_dir=results_dir, warm_maps=False)
    codes = ["24121", "24115", "24133"]
    urls = [
        f"/maps/communes/{c}?indicator={i}" for c in codes for i in ("fibre", "mobile")
    ]
    with TestClient(create_app(settings)) as c:
        statuses: list[int] = []
        threads = [
            threading.Thread(target=lambda u=u: statuses.append(c.get(u).status_code))
            for u in urls
        ]
        try:
            for t in threads:
                t.start()
            until(lambda: running[0] == routes.RENDER_THREADS)
            limiter = c.app.state.map_render_limiter  # type: ignore[attr-defined]
            waiting = len(urls) - routes.RENDER_THREADS
            until(lambda: limiter.statistics().tasks_waiting == waiting)
            assert c.get("/healthz").status_code == 200
            assert (running[0], done[0]) == (routes.RENDER_THREADS, 0)
        finally:
            release.set()
            for t in threads:
                t.join()
    assert most[0] == routes.RENDER_THREADS
    assert done[0] == len(urls) and statuses == [200] * len(urls)


# --- nothing run from data (issue 6, C6) ----------------------------------------------
SEVENS = {  # every text that reaches a map page, each with a Jinja expression in it
    "commune_name": "Xã {{ 7*7 }} <script>alert(1)</script> M’Drắk",
    "district_name": "Huyện {{ 7*7 }} </script><!--",
    "commune_code": "{{7*7}}",
    "district": "Ranh {{ 7*7 }}",
    "region": "Tỉnh {{ 7*7 }}",
    "layer_id": "id-{{ 7*7 }}",
    "operator": "Nhà mạng {{ 7*7 }}",
    "technology": "4G {{ 7*7 }}",
    "attribution": "© {{ 7*7 }} <b>bold</b>",
    "tiles": "tiles-{{ 7*7 }}",
}
EVALUATED = [  # what SEVENS would show if their expressions were run
    t.replace("{{ 7*7 }}", "49") for t in SEVENS.values() if t != "{{7*7}}"
] + ["Xã 49", "Tỉnh 49"]  # (the code's "49" alone could be any figure)
# Quote-free, so that JSON and HTML escaping leave them whole; each reads its own
# command from the environment and would create a file named after its field.
VARIANTS = (
    "cycler.__init__.__globals__.os.system(cycler.__init__.__globals__.os.environ.{v})",
    "lipsum.__globals__.os.system(lipsum.__globals__.os.environ.{v})",
    "self.__init__.__globals__.__builtins__.__import__(dict(os=1)|first)"
    ".system(self.__init__.__globals__.__builtins__.__import__(dict(os=1)|first)"
    ".environ.{v})",
    "joiner.__init__.__globals__.os.popen(joiner.__init__.__globals__.os.environ.{v})"
    ".read()",
)


def os_payloads() -> dict[str, str]:
    return {
        field: "{{ " + VARIANTS[i % len(VARIANTS)].format(v=f"GEODX_CANARY_{i}") + " }}"
        for i, field in enumerate(SEVENS)
    }


def with_texts(src: Path, dst: Path, texts: dict[str, str]) -> Path:
    """A copy of the results folder whose texts are ``texts`` (see SEVENS's keys)."""
    shutil.copytree(src, dst)

    def edit(name: str, change: Any) -> None:
        doc = json.loads((dst / name).read_text(encoding="utf-8"))
        change(doc)
        (dst / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    def communes(doc: dict[str, Any]) -> None:
        first = doc["features"][0]["properties"]  # 24121, Xã Hòa Phú
        first["commune_name"] = texts["commune_name"]
        first["district_name"] = texts["district_name"]
        first["commune_code"] = texts["commune_code"]
        doc["features"][3]["properties"]["district_name"] = None  # title: the region

    def districts(doc: dict[str, Any]) -> None:
        doc["features"][0]["properties"]["district_name"] = texts["district"]

    def summary(doc: dict[str, Any]) -> None:
        doc["region"] = texts["region"]
        doc["layers"][0]["id"] = texts["layer_id"]  # vnpt-fibre
        doc["layers"][0]["operator"] = texts["operator"]
        doc["layers"][1]["technology"] = texts["technology"]  # viettel-4g

    edit("communes.geojson", communes)
    edit("districts.geojson", districts)
    edit("summary.json", summary)
    cells = pd.read_parquet(dst / "cells.parquet")
    cells["commune_code"] = cells["commune_code"].replace(
        "24121", texts["commune_code"]
    )
    cells.to_parquet(dst / "cells.parquet", index=False)
    return dst


def settings_with(folder: Path, texts: dict[str, str], base: str = "") -> Settings:
    tiles = f"{base}/static/leaflet/images/layers.png?z={{z}}&x={{x}}&y={{y}}&t="
    return Settings(results_dir=folder, warm_maps=False, tiles_url=tiles + texts["tiles"],
                    tiles_attribution=texts["attribution"])  # fmt: skip


def every_map(results: Any, settings: Settings, code: str) -> list[str]:
    """Every map page and hexagon layer of the region, rendered as the service does."""
    out = []
    for ind in ("fibre", "mobile", "mobile_5g"):
        out.append(routes.render_coverage(results, settings, ind).decode())
        out.append(routes.render_cells(results, settings, ind).decode())
        for c in (code, "24340"):
            out.append(routes.render_commune(results, settings, c, ind).decode())
    return out


@pytest.fixture(scope="module")
def sevens(results_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_texts(results_dir, tmp_path_factory.mktemp("x") / "sevens", SEVENS)


def test_expressions_in_data_and_settings_show_literally(sevens: Path) -> None:
    settings = settings_with(sevens, SEVENS)
    with TestClient(create_app(settings)) as c:
        pages = {
            path: c.get(path).text
            for path in [
                *(f"/maps/coverage?indicator={i}" for i in ("fibre", "mobile")),
                "/maps/communes/%7B%7B7%2A7%7D%7D",
                "/maps/communes/24340",
            ]
        }
    assert all(BLOB.search(p) for p in pages.values()), list(pages.values())[0][:300]
    datas = {path: blob(page) for path, page in pages.items()}
    for field, text in SEVENS.items():
        where = [p for p, d in datas.items() if shows(d, text)]
        assert where, f"{field}: {text!r} is not shown literally on any map"
    for path, page in pages.items():
        text = "".join(strings(datas[path]))
        assert not any(e in text or e in page for e in EVALUATED), path
        assert page.count("</script>") == len(re.findall(r"<script\b", page)), path
    commune = datas["/maps/communes/%7B%7B7%2A7%7D%7D"]
    assert commune["title"] == f"{SEVENS['commune_name']} — {SEVENS['district_name']}"
    assert datas["/maps/communes/24340"]["title"].endswith(f"— {SEVENS['region']}")


def test_rendering_a_map_compiles_no_template(
    sevens: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the constant page is ever a template: a map is its data, dumped."""
    import jinja2

    settings = settings_with(sevens, SEVENS)
    with TestClient(create_app(settings)) as c:
        results = c.app.state.results
    map_page(routes.ASSETS)  # the one page, built once per process (no data in it)
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def compile_(self: jinja2.Environment, source: Any, *args: Any, **kw: Any) -> Any:
        compiled.append(str(source))
        return real(self, source, *args, **kw)

    monkeypatch.setattr(jinja2.Environment, "compile", compile_)
    pages = every_map(results, settings, SEVENS["commune_code"])
    assert len(pages) == 12 and compiled == []


def test_code_reaching_payloads_create_no_file(
    results_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    canary = tmp_path / "canary"
    canary.mkdir()
    for i, field in enumerate(SEVENS):
        monkeypatch.setenv(f"GEODX_CANARY_{i}", f"touch {canary / field}")
    texts = os_payloads()
    folder = with_texts(results_dir, tmp_path / "results", texts)
    settings = settings_with(folder, texts)
    warm = settings.model_copy(update={"warm_maps": True})
    with TestClient(create_app(warm)) as c:  # start-up pre-renders, with no request
        cache = c.app.state.map_cache
        deadline = time.monotonic() + 60
        while ("cells", "mobile_5g") not in cache and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ("coverage", "mobile_5g") in cache and ("cells", "mobile_5g") in cache
        assert c.get("/maps/coverage?indicator=mobile").status_code == 200
        pages = every_map(c.app.state.results, settings, texts["commune_code"])
    assert sorted(p.name for p in canary.iterdir()) == []
    everything = "".join(pages)
    for field, text in texts.items():
        assert json.dumps(text, ensure_ascii=False)[1:-1] in everything, field


# --- in a real browser, under the page's CSP ------------------------------------------
WATCH_CSP = """window.__csp = []; window.__alerted = false;
window.alert = () => { window.__alerted = true; };
document.addEventListener("securitypolicyviolation",
    (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""


@pytest.fixture(scope="module")
def live(sevens: Path) -> Iterator[str]:
    """The app on 127.0.0.1 with the SEVENS texts (tiles served by the app itself).

    uvicorn runs in a thread of this process: no second interpreter to start.
    """

    def build(base: str) -> Any:
        return create_app(settings_with(sevens, SEVENS, base))

    with live_server(build, name="live-sevens") as base:
        yield base


CENTRAL_PATH = """() => {  // the centre of the drawn path nearest the map's centre
    const m = document.querySelector(".folium-map").getBoundingClientRect();
    let best = null, dist = Infinity;
    for (const p of document.querySelectorAll("path.leaflet-interactive")) {
        const b = p.getBoundingClientRect(), x = b.x + b.width / 2, y = b.y + b.height / 2;
        const d = (x - m.x - m.width / 2) ** 2 + (y - m.y - m.height / 2) ** 2;
        if (d < dist && b.width < m.width / 4) { dist = d; best = [x, y]; }
    }
    return best;
}"""


def open_map(browser: Any, url: str) -> tuple[Any, dict[str, list[str]]]:
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    seen: dict[str, list[str]] = {"errors": [], "requests": []}
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["errors"].append(m.text)
            if m.type in ("error", "warning") else None)  # fmt: skip
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.add_init_script(WATCH_CSP)
    response = page.goto(url, wait_until="load", timeout=30_000)
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    page.locator(".geodx-box").nth(1).wait_for()  # (wait_for_function evals: CSP)
    return page, seen


def test_chromium_coverage_map_shows_data_as_text(live: str, browser: Any) -> None:
    page, seen = open_map(browser, live + "/maps/coverage?indicator=mobile")
    try:
        assert page.title() == SEVENS["region"]
        boxes = page.locator(".geodx-box").all_inner_texts()
        assert SEVENS["region"] in boxes[0] and "SYNTHETIC DATA" in boxes[0]
        assert "covered at: 95 %" in boxes[1]
        control = page.locator(".leaflet-control-layers").inner_text()
        assert f"Viettel — {SEVENS['technology']} (viettel-4g)" in control
        attribution = page.locator(".leaflet-control-attribution").inner_text()
        assert SEVENS["attribution"] in attribution
        assert page.locator(".leaflet-tile-loaded").count() > 0, "tiles (img-src)"
        drawn = page.locator("path.leaflet-interactive").count()
        assert drawn == 5 + 2  # communes, then district outlines
        page.locator("path.leaflet-interactive").first.hover()
        tip = page.locator(".leaflet-tooltip").inner_text()
        assert SEVENS["commune_name"] in tip and SEVENS["district_name"] in tip
        assert not any("coverage/cells" in u for u in seen["requests"])
        page.get_by_text("H3 hexagons").click()
        page.locator("path.leaflet-interactive").nth(7).wait_for()
        assert any("coverage/cells?indicator=mobile" in u for u in seen["requests"])
        text = page.locator("body").inner_text()
        assert not any(e in text for e in EVALUATED)
        assert page.evaluate("document.scripts.length") == 5  # none from data
        assert page.evaluate("window.__csp") == [] and seen["errors"] == []
        assert page.evaluate("window.__alerted") is False
        page.get_by_text("H3 hexagons").click()  # off again: the communes take clicks
        page.locator("path.leaflet-interactive").first.click()  # code {{7*7}}
        page.wait_for_url(live + "/maps/communes/%7B%7B7*7%7D%7D?indicator=mobile")
        page.locator(".geodx-side").wait_for()
        assert page.title() == f"{SEVENS['commune_name']} — {SEVENS['district_name']}"
    finally:
        page.close()


def test_chromium_commune_map_shows_data_as_text(live: str, browser: Any) -> None:
    page, seen = open_map(browser, live + "/maps/communes/%7B%7B7%2A7%7D%7D")
    try:
        assert page.title() == f"{SEVENS['commune_name']} — {SEVENS['district_name']}"
        control = page.locator(".leaflet-control-layers").inner_text()
        assert "H3 — Cáp quang / fibre (%)" in control
        assert page.locator("path.leaflet-interactive").count() > 1
        page.mouse.move(*page.evaluate(CENTRAL_PATH))  # a cell
        assert "Ô H3 / H3 cell" in page.locator(".leaflet-tooltip").inner_text()
        box = page.locator("path.leaflet-interactive").last.bounding_box()  # outline
        page.mouse.move(box["x"] + 1.5, box["y"] + box["height"] / 2)  # on its stroke
        tip = page.locator(".leaflet-tooltip").last.inner_text()
        assert SEVENS["commune_name"] in tip and SEVENS["commune_code"] in tip
        text = page.locator("body").inner_text()
        assert not any(e in text for e in EVALUATED)
        assert page.evaluate("window.__csp") == [] and seen["errors"] == []
        assert page.evaluate("window.__alerted") is False
    finally:
        page.close()
