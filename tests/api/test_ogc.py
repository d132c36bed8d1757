"""OGC API - Features: landing, conformance, collections, items, paging, filters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

GEOJSON = "application/geo+json"


def walk_pages(
    client: TestClient, url: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow ``next`` links; return every feature and every page."""
    features, pages = [], []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == GEOJSON
        page = orjson.loads(r.content)  # strict JSON: NaN would not parse
        pages.append(page)
        features += page["features"]
        url = next(
            (link["href"] for link in page["links"] if link["rel"] == "next"), ""
        )
    return features, pages


def test_landing_page_links_to_the_api_definition_and_data(client: TestClient) -> None:
    body = client.get("/", headers={"accept": "application/json"}).json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["data"].endswith("/collections")
    assert body["synthetic"] is True and "synthetic" in body["title"]


def test_landing_page_in_html_labels_synthetic_data_and_escapes(
    client: TestClient,
) -> None:
    r = client.get("/", headers={"accept": "text/html"})
    assert r.headers["content-type"].startswith("text/html")
    assert "SYNTHETIC DATA" in r.text and "Tỉnh Đắk Lắk (thử nghiệm)" in r.text
    assert client.get("/?f=html").headers["content-type"].startswith("text/html")


def test_conformance_declares_core_geojson_and_openapi30(client: TestClient) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    assert any(c.endswith("/conf/core") for c in classes)
    assert any(c.endswith("/conf/geojson") for c in classes)
    assert any(c.endswith("/conf/oas30") for c in classes)


def test_openapi_document_is_version_30(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.0")
    assert '"type": "null"' not in json.dumps(doc)
    for cid in ("communes", "districts", "cells", "gaps"):
        get = doc["paths"][f"/collections/{cid}/items"]["get"]
        assert {"200", "400", "404", "422"} <= set(get["responses"])
        assert set(get["responses"]["200"]["content"]) == {"application/geo+json"}
        assert set(get["responses"]["400"]["content"]) == {"application/json"}
    params = doc["paths"]["/collections/cells/items"]["get"]["parameters"]
    limit = next(p for p in params if p["name"] == "limit")
    assert (
        limit["schema"]["minimum"] == 1 and "maximum" not in limit["schema"]
    )  # clamped


def test_collections_lists_the_four_with_extents(client: TestClient) -> None:
    body = client.get("/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == ["communes", "districts", "cells", "gaps"]
    communes = body["collections"][0]
    assert communes["extent"]["spatial"]["bbox"] == [[108.0, 12.6, 108.06, 12.64]]
    assert any(link["rel"] == "items" for link in communes["links"])
    assert client.get("/collections/cells").json()["id"] == "cells"


def test_paging_walks_every_commune_with_counts(
    client: TestClient, results_dir: Path
) -> None:
    features, pages = walk_pages(client, "/collections/communes/items")
    expected = json.loads(
        (results_dir / "communes.geojson").read_text(encoding="utf-8")
    )
    assert [f["id"] for f in features] == [
        f["properties"]["commune_code"] for f in expected["features"]
    ]
    assert [f["properties"] for f in features] == [
        f["properties"] for f in expected["features"]
    ]
    assert all(p["numberMatched"] == 5 for p in pages)
    assert [p["numberReturned"] for p in pages] == [2, 2, 1]
    assert any(link["rel"] == "prev" for link in pages[1]["links"])


def test_limit_above_maximum_is_clamped_and_paged(client: TestClient) -> None:
    page = client.get("/collections/communes/items?limit=1000000").json()
    assert page["numberReturned"] == 3  # max_limit of the test settings
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    assert "offset=3" in nxt and "limit=3" in nxt


def test_geometry_follows_rfc7946(big_client: TestClient) -> None:
    for cid in ("communes", "districts", "cells", "gaps"):
        page = orjson.loads(
            big_client.get(f"/collections/{cid}/items?limit=1000").content
        )
        for feature in page["features"]:
            geom = shape(feature["geometry"])
            polys = getattr(geom, "geoms", [geom])
            assert all(shapely.is_ccw(p.exterior) for p in polys)
            for x, y in shapely.get_coordinates(geom):
                assert -180 <= x <= 180 and -90 <= y <= 90
                assert round(x, 7) == x and round(y, 7) == y


def test_bbox_selects_intersecting_features(client: TestClient) -> None:
    page = client.get(
        "/collections/communes/items?bbox=108.005,12.605,108.015,12.615"
    ).json()
    assert [f["id"] for f in page["features"]] == ["24121"]
    page = client.get("/collections/communes/items?bbox=100,0,101,1").json()
    assert page["numberMatched"] == 0 and page["features"] == []


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("district_code=654", ["24340", "24343"]),
        ("fibre_target_met=false&limit=3", ["24115", "24133", "24340"]),
        ("fibre_target_met=true", ["24121"]),
        ("district_code=643&mobile_covered=true", ["24121", "24133"]),
        ("commune_name=Xã Hòa Phú", ["24121"]),
        ("households=72&limit=3", ["24121", "24115", "24133"]),
        ("fibre_pct=null", ["24343"]),
    ],
)
def test_property_filters(client: TestClient, query: str, ids: list[str]) -> None:
    page = client.get(f"/collections/communes/items?{query}").json()
    assert [f["id"] for f in page["features"]] == ids


def test_cells_add_up_to_every_household_and_roll_up(
    big_client: TestClient, results_dir: Path
) -> None:
    import pandas as pd

    cells = pd.read_parquet(results_dir / "cells.parquet")
    fine = big_client.get("/collections/cells/items?limit=1000").json()
    assert fine["numberMatched"] == cells["h3"].nunique()
    for col in (
        "households",
        "fibre_households",
        "mobile_households",
        "mobile_5g_households",
    ):
        assert sum(f["properties"][col] for f in fine["features"]) == cells[col].sum()
    for res in (8, 7, 5, 0):
        coarse = big_client.get(
            f"/collections/cells/items?resolution={res}&limit=1000"
        ).json()
        assert sum(f["properties"]["households"] for f in coarse["features"]) == (
            cells["households"].sum()
        )
        assert all(f["properties"]["resolution"] == res for f in coarse["features"])


def test_a_cell_shared_by_communes_and_unassigned_households(
    big_client: TestClient,
) -> None:
    features = big_client.get("/collections/cells/items?limit=1000").json()["features"]
    unassigned = [f for f in features if f["properties"]["communes"] == 0]
    assert sum(f["properties"]["households"] for f in unassigned) == 6
    f = unassigned[0]["properties"]
    assert f["fibre_pct"] == round(100 * f["fibre_households"] / f["households"], 4)


def test_one_feature_by_id(client: TestClient) -> None:
    r = client.get("/collections/communes/items/24133")
    assert r.status_code == 200 and r.headers["content-type"] == GEOJSON
    body = r.json()
    assert body["properties"]["commune_name"] == 'Xã Ea <Tu> "Mới" & Co'
    assert {link["rel"] for link in body["links"]} == {"self", "collection"}
    cell = client.get("/collections/cells/items?resolution=6").json()["features"][0][
        "id"
    ]
    assert (
        client.get(f"/collections/cells/items/{cell}?resolution=6").json()["id"] == cell
    )


def test_gaps_collection_largest_gap_first(client: TestClient) -> None:
    page = client.get("/collections/gaps/items?limit=3").json()
    gaps = [f["properties"]["gap_households"] for f in page["features"]]
    assert gaps == sorted(gaps, reverse=True) and page["numberMatched"] == 3
    assert page["features"][0]["id"] == "24133"
    mobile = client.get("/collections/gaps/items?indicator=mobile").json()
    assert [f["id"] for f in mobile["features"]] == ["24340", "24115"]
    # ceil(95% x 72) - 36 = 33 and ceil(95% x 72) - 60 = 9
    assert [f["properties"]["gap_households"] for f in mobile["features"]] == [33, 9]
