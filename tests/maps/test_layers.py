"""The operators' layers on the maps, the links to commune pages and the commune figures.

Asserted on what the service answers (``/maps/layers``, each layer's bytes, the pages'
JSON blobs) against the files written by ``tests/maps/world.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.maps.world import HOSTILE_COMMUNE, HOSTILE_ID, HOSTILE_OPERATOR, LINES

BLOB = re.compile(
    r'<script type="application/json" id="geodx-map-data">(.*?)</script>', re.S
)
SERVED = {  # (id, part) -> media type: the index's usable entries, in its order
    ("vnpt-fibre", ""): "application/geo+json",
    (HOSTILE_ID, ""): "application/geo+json",
    ("speeds", ""): "application/geo+json",
    ("viettel-4g", ""): "image/png",
    ("vina-sites", ""): "image/png",
    ("vina-sites", "sites"): "application/geo+json",
}


def blob(page: str) -> dict[str, Any]:
    (found,) = BLOB.findall(page)
    data: dict[str, Any] = json.loads(found)
    return data


def test_the_index_keeps_only_entries_whose_file_is_in_the_folder(
    map_client: TestClient,
) -> None:
    r = map_client.get("/maps/layers")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    layers = r.json()["layers"]
    assert [(x["id"], x["part"]) for x in layers] == list(SERVED)
    first = layers[0]
    assert first["bounds"] == [108.005, 12.605, 108.055, 12.635]
    assert first["operator"] == "VNPT" and first["features"] == 3
    image = next(x for x in layers if x["id"] == "viettel-4g")
    assert image["legend"]["title"] == "ngưỡng / threshold -105 dBm"
    assert image["legend"]["classes"] == [
        ["-115 – -105 dBm (below)", "#d7301f"],
        ["≥ -105 dBm (above)", "#238443"],
    ]


def test_each_layer_is_its_file_from_the_index(
    map_client: TestClient, map_results: Path
) -> None:
    index = json.loads((map_results / "layers" / "index.json").read_text())
    files = {e["id"]: e["file"] for e in index["layers"][:5]}
    files_sites = index["layers"][4]["sites"]["file"]
    for x in map_client.get("/maps/layers").json()["layers"]:
        r = map_client.get(urljoin("/maps/layers", x["url"]))  # as a page resolves it
        assert r.status_code == 200, x["url"]
        assert r.headers["content-type"] == SERVED[(x["id"], x["part"])]
        name = files_sites if x["part"] == "sites" else files[x["id"]]
        assert r.content == (map_results / "layers" / name).read_bytes()
    lines = map_client.get("/maps/layers/vnpt-fibre").json()
    drawn = [f["geometry"]["coordinates"] for f in lines["features"]]
    assert drawn == [[list(p) for p in line] for line in LINES]


@pytest.mark.parametrize(
    "path",
    [
        "/maps/layers/up",
        "/maps/layers/..%2Fsummary.json",
        "/maps/layers/%2E%2E/summary.json",
        "/maps/layers/summary.json",
        "/maps/layers/vnpt_fibre.geojson",  # a file name is not an id
        "/maps/layers/linked",  # a symlink out of layers/
        "/maps/layers/badbounds",
        "/maps/layers/viettel-4g?part=sites",  # no sites part
        "/maps/layers/nothing-drawn",
    ],
)
def test_no_request_names_a_file(map_client: TestClient, path: str) -> None:
    r = map_client.get(path)
    assert r.status_code in (404, 422), (path, r.status_code)
    assert b"households" not in r.content  # summary.json's bytes never leave


def test_the_hostile_layer_is_data(map_client: TestClient) -> None:
    url = "/maps/layers/" + quote(HOSTILE_ID, safe="")
    r = map_client.get(url)
    assert r.status_code == 200
    assert r.json()["features"][0]["properties"]["operator"] == HOSTILE_OPERATOR
    page = map_client.get("/maps/coverage").text
    assert "<script>alert" not in page and "49" not in HOSTILE_ID
    groups = blob(page)["operator_layers"]
    names = [g["operator"] for g in groups]
    assert names == ["VNPT", HOSTILE_OPERATOR, "Đo tốc độ / measured speeds",
                     "Viettel", "Vinaphone"]  # fmt: skip
    hostile = groups[1]["layers"][0]
    assert hostile["name"] == f"cáp quang / fibre ({HOSTILE_ID})"
    assert hostile["url"].startswith("layers/" + quote(HOSTILE_ID, safe="") + "?v=")


def test_pages_list_the_layers_and_fetch_them_on_demand(
    map_client: TestClient,
) -> None:
    page = map_client.get("/maps/coverage?indicator=mobile").text
    assert "108.035" not in page  # no vertex of a layer is in the page
    groups = {g["operator"]: g for g in blob(page)["operator_layers"]}
    viettel = groups["Viettel"]["layers"][0]
    assert viettel["type"] == "image"
    assert viettel["bounds"] == [[12.60, 108.0], [12.64, 108.06]]  # Leaflet's order
    sites = [x["name"] for x in groups["Vinaphone"]["layers"]]
    assert sites == ["4G · dự báo / prediction (vina-sites)",
                     "4G · trạm / sites (vina-sites)"]  # fmt: skip
    commune = blob(map_client.get("/maps/communes/24121").text)
    urls = [x["url"] for g in commune["operator_layers"] for x in g["layers"]]
    assert all(u.startswith("../layers/") for u in urls)  # from /maps/communes/<code>
    assert map_client.get(urljoin("/maps/communes/24121", urls[0])).status_code == 200


def encode_uri_component(text: str) -> str:
    """JavaScript's encodeURIComponent, written again."""
    return quote(text, safe="-_.!~*'()")


def test_a_commune_links_to_its_page(map_client: TestClient) -> None:
    data = blob(map_client.get("/maps/coverage?indicator=mobile").text)
    communes = data["overlays"][0]
    link = communes["link"]
    assert link == {"prefix": "communes/", "suffix": "?indicator=mobile", "codes": 2}
    codes = communes["tip"]["values"][link["codes"]]
    assert codes == [c["commune_code"] for c in communes_of(map_client)]
    for code in codes:
        href = link["prefix"] + encode_uri_component(code) + link["suffix"]
        r = map_client.get(urljoin("/maps/coverage", href))
        assert r.status_code == 200 and "geodx-map-data" in r.text
    home = blob(map_client.get("/maps/communes/24121?indicator=mobile").text)["home"]
    assert urljoin("/maps/communes/24121", home) == "/maps/coverage?indicator=mobile"


def communes_of(client: TestClient) -> list[dict[str, Any]]:
    doc = client.get("/collections/communes/items?limit=100").json()
    return [f["properties"] for f in doc["features"]]


def test_assets_are_relative_to_the_page(map_client: TestClient) -> None:
    for path in ("/maps/coverage", "/maps/communes/24121"):
        page = map_client.get(path).text
        urls = re.findall(r'(?:src|href)="([^"]+)"', page)
        urls.remove("data:,")  # the empty favicon: no request
        assert urls and not [u for u in urls if u.startswith("/")], urls
        for url in urls:
            assert map_client.get(urljoin(path, url)).status_code == 200, url


def test_the_commune_page_holds_its_figures(
    map_client: TestClient, map_results: Path
) -> None:
    doc = json.loads((map_results / "communes.geojson").read_text(encoding="utf-8"))
    for feature in doc["features"]:
        props = feature["properties"]
        code = props["commune_code"]
        data = blob(map_client.get(f"/maps/communes/{quote(code)}").text)
        rows = [r for s in data["figures"]["sections"] for r in s["rows"]]
        assert {r["column"]: r["value"] for r in rows} == {
            r["column"]: props[r["column"]] for r in rows
        }
        shown = {r["column"] for r in rows}
        wanted = {"households", "fibre_pct", "fibre_target_met",
                  "fibre_gap_households", "mobile_pct", "mobile_5g_pct",
                  "mobile_covered", "mobile_gap_households",
                  "mobile_operators_0_households",
                  "mobile_operators_3plus_households", "mobile_households_minus3db",
                  "mobile_households_plus3db", "mobile_covered_sensitive"}  # fmt: skip
        assert wanted <= shown, wanted - shown
        for view in ("operator_vnpt_fibre_pct", "operator_viettel_mobile_pct"):
            assert (view in shown) == (props[view] is not None), (code, view)
    hostile = blob(map_client.get("/maps/communes/24133").text)
    assert hostile["title"].startswith(HOSTILE_COMMUNE)


@pytest.mark.parametrize("code", ["24115", "24133", "24121"])
def test_the_commune_page_holds_its_plan(
    map_client: TestClient, map_results: Path, code: str
) -> None:
    """The plan's figures and curve equal a greedy take over plan.parquet, by hand."""
    doc = json.loads((map_results / "communes.geojson").read_text(encoding="utf-8"))
    (props,) = [f["properties"] for f in doc["features"]
                if f["properties"]["commune_code"] == code]  # fmt: skip
    gap = props["fibre_gap_households"]
    rows = pd.read_parquet(map_results / "plan.parquet")
    mine = rows[rows["commune_code"] == code].reset_index(drop=True)
    order = sorted(range(len(mine)), key=lambda i: (mine["extension_m"][i],
                                                     mine["h3"][i], i))  # fmt: skip
    taken, households, longest, curve = 0, 0, 0.0, []
    for i in order:
        households += int(mine["households"][i])
        curve.append([float(households), float(mine["extension_m"][i])])
        if taken < gap:
            taken, longest = households, float(mine["extension_m"][i])
    plan = blob(map_client.get(f"/maps/communes/{code}").text)["plan"]
    figures = {r["column"]: r["value"] for r in plan["rows"]}
    assert figures["gap_households"] == gap and plan["gap"] == gap
    assert figures["households_planned"] == taken >= gap
    assert figures["max_extension_m"] == pytest.approx(longest)
    assert figures["households_without_fibre"] == households
    curve = [[round(x, 2), round(y, 1)] for x, y in curve]  # as the page rounds it
    assert plan["curve"][:1] == curve[:1] and plan["curve"][-1:] == curve[-1:]
    assert all(p in curve for p in plan["curve"]) and len(plan["curve"]) <= 100
