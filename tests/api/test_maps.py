"""Folium maps: asserted on the rendered HTML (layers, legend, escaping, offline)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from geodx.maps import DivergingScale


def js(text: str) -> str:
    """``text`` as Jinja's ``tojson`` writes it inside a page (ASCII, <>&' escaped)."""
    out = json.dumps(text)[1:-1]
    for ch in "<>&'":
        out = out.replace(ch, f"\\u{ord(ch):04x}")
    return out


def shows(page: str, text: str) -> bool:
    """True when ``text`` is in the page as HTML or inside a script's JSON."""
    return text in page or js(text) in page


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


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
    assert not EXTERNAL.search(page), "the page loads something from another host"
    assert "cdn" not in page.lower()
    assert shows(page, "H3 hexagons") and shows(page, "district boundaries")
    assert shows(
        page,
        {
            "fibre": "target: 90 %",
            "mobile": "covered at: 95 %",
            "mobile_5g": "reference (4G/5G rule): 95 %",
        }[indicator],
    )
    assert "L.control.layers" in page
    assert shows(page, "SYNTHETIC DATA")
    assert shows(page, "Tỉnh Đắk Lắk (thử nghiệm)")


def test_per_operator_layers_follow_the_indicator(client: TestClient) -> None:
    fibre = client.get("/maps/coverage?indicator=fibre").text
    mobile = client.get("/maps/coverage?indicator=mobile").text
    five = client.get("/maps/coverage?indicator=mobile_5g").text
    assert shows(fibre, "VNPT — fibre (vnpt-fibre)") and "viettel-4g" not in fibre
    assert shows(mobile, "Viettel — 4G (viettel-4g)")
    assert shows(mobile, "Viettel — 5G (Viettel 5G)")
    assert "viettel-4g" not in five and "Viettel 5G" in five


def test_names_are_escaped_in_maps(client: TestClient) -> None:
    page = client.get("/maps/coverage").text
    assert "<Tu>" not in page and '"Mới" &' not in page
    # HTML-escaped text, inside a JSON string that tojson escapes once more
    assert js("Xã Ea &lt;Tu&gt; &quot;Mới&quot; &amp; Co") in page
    commune = client.get("/maps/communes/24133").text
    assert js("<Tu>") not in commune and js("&lt;Tu&gt;") in commune


def test_commune_map_shows_its_cells(client: TestClient, results_dir: Path) -> None:
    cells = pd.read_parquet(results_dir / "cells.parquet")
    n = int((cells["commune_code"] == "24121").sum())
    page = client.get("/maps/communes/24121?indicator=mobile").text
    assert shows(page, "Xã Hòa Phú") and shows(page, "commune boundary")
    assert shows(page, "H3 — 4G/5G (%)") and shows(page, "Ô H3 / H3 cell")
    assert (
        page.count(js("<th>Ô H3 / H3 cell</th>")) == 3 * n
    )  # one per cell in 3 overlays


def test_leaflet_is_served_by_the_app(client: TestClient) -> None:
    js = client.get("/static/leaflet/leaflet.js")
    assert js.status_code == 200 and b"Leaflet" in js.content[:200]
    assert client.get("/static/leaflet/leaflet.css").status_code == 200
    assert client.get("/static/leaflet/images/layers.png").status_code == 200


def test_diverging_scale_is_centred_on_the_target() -> None:
    scale = DivergingScale(90.0)
    assert scale.colour(89.99) != scale.colour(90.0)
    assert scale.colour(0.0) == scale.colour(10.0) != scale.colour(30.0)
    assert [label for label, _ in scale.classes()][4] == "90–95 %"
    full = DivergingScale(100.0)
    assert full.colour(99.9) != full.colour(100.0)
    assert len(full.classes()) == 6


def test_a_base_map_is_optional_and_escaped(results_dir: Path) -> None:
    from fastapi.testclient import TestClient as Client

    from api.main import create_app
    from api.settings import Settings

    url = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
    settings = Settings(results_dir=results_dir, tiles_url=url, warm_maps=False,
                        tiles_attribution='<b>Sở TT&TT</b>')  # fmt: skip
    with Client(create_app(settings)) as c:
        page = c.get("/maps/coverage").text
    assert shows(page, url) and shows(page, "Base map")
    assert js("<b>Sở") not in page and shows(page, "&lt;b&gt;Sở TT&amp;TT&lt;/b&gt;")
