"""A tiled coverage map in headless Chromium: communes and hexagons drawn from /tiles.

The page (``map_tiles_above=0`` forces tiles on the small generated region) inlines no
commune and no hexagon; Chromium fetches tiles, draws each feature once however many
tiles it meets, shows tooltips, and nothing leaves the app or breaks its CSP.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geodx.pyramid import write_pyramid_of
from tests.api.conftest import live_server, write_results
from tests.maps.prefixed import PREFIX, prefixed
from tests.maps.test_browser import PATHS, SHOTS, assert_clean, open_page


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_results(tmp_path_factory.mktemp("tiled") / "results")
    write_pyramid_of(folder)
    return folder


@pytest.fixture(scope="module")
def live(out: Path) -> Iterator[str]:
    def build(base: str) -> Any:
        settings = Settings(
            results_dir=out, base_url=base, warm_maps=False, map_tiles_above=0
        )
        return prefixed(create_app(settings))

    with live_server(build, prefix=PREFIX, name="live-tiles") as base:
        yield base


def _keys(urls: list[str]) -> set[str]:
    """The features the fetched tiles hold (with a shape), fetched again here."""
    keys: set[str] = set()
    for url in dict.fromkeys(urls):
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - 127.0.0.1
            blob = json.loads(answer.read())
        keys |= {k for k, s in zip(blob["keys"], blob["shapes"], strict=True) if s}
    return keys


def test_the_page_inlines_no_commune_nor_hexagon(out: Path) -> None:
    settings = Settings(results_dir=out, warm_maps=False, map_tiles_above=0)
    with TestClient(create_app(settings)) as c:
        page = c.get("/maps/coverage?indicator=fibre")
    assert page.status_code == 200
    blob = page.text.split('id="geodx-map-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(blob)
    assert set(data["shapes"]) == {"districts"}
    tiled = [o["tiles"] for o in data["overlays"] if "tiles" in o]
    assert tiled == [
        "../tiles/communes/{z}/{x}/{y}.geojson?indicator=fibre",
        "../tiles/cells/{z}/{x}/{y}.geojson?indicator=fibre",
    ]
    assert (
        sum(
            data["legend"]["classes"][i][2]
            for i in range(len(data["legend"]["classes"]))
        )
        == 5
    )


def test_tiles_are_fetched_and_each_feature_drawn_once(
    live: str, browser: Any, out: Path
) -> None:
    doc = json.loads((out / "communes.geojson").read_text(encoding="utf-8"))
    codes = {f["properties"]["commune_code"] for f in doc["features"]}
    page, seen = open_page(browser, live + "/maps/coverage?indicator=fibre")
    try:
        paths = page.locator(PATHS)
        paths.nth(6).wait_for()
        page.wait_for_load_state("networkidle")
        communes = [u for u in seen["requests"] if "/tiles/communes/" in u]
        assert communes and all(
            u.startswith(live + "/tiles/communes/") for u in communes
        )
        assert _keys(communes) == codes
        assert (
            paths.count() == 5 + 2
        )  # each commune once, however many tiles; districts
        paths.first.hover()
        assert (
            "Số hộ / households" in page.locator(".leaflet-tooltip").last.inner_text()
        )
        page.get_by_text("H3 hexagons", exact=False).click()
        paths.nth(7).wait_for()
        page.wait_for_load_state("networkidle")
        cells = [u for u in seen["requests"] if "/tiles/cells/" in u]
        assert cells
        want = 7 + len(_keys(cells))  # every hexagon of the fetched tiles, once
        deadline = time.monotonic() + 20  # a busy machine draws late
        while paths.count() != want and time.monotonic() < deadline:
            time.sleep(0.1)
        assert paths.count() == want
        drawn = paths.evaluate_all("ps => ps.map(p => p.getAttribute('d'))")
        assert len(set(drawn)) == len(drawn)  # no feature twice
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "tiles-coverage-map.png"))
        assert_clean(page, seen, live)
    finally:
        page.close()
