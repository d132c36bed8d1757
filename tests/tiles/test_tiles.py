"""Vector tiles against the cell table and the communes, recomputed naively.

Every cell of the zoom's pyramid level whose hexagon meets a tile (mercantile's bounds,
an independent tile rule) is in that tile with the same figures, in the per-tile JSON
the maps draw and in the MVT (decoded back with mapbox-vector-tile).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h3
import mapbox_vector_tile
import mercantile
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geodx.pyramid import write_pyramid_of
from tests.api.conftest import write_results

COUNTS = ("households", "fibre_households", "mobile_households", "mobile_5g_households")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_results(tmp_path_factory.mktemp("tiles") / "results")
    write_pyramid_of(folder)
    return folder


@pytest.fixture(scope="module")
def client(out: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(results_dir=out, warm_maps=False))) as c:
        yield c


def _naive_cells(out: Path, res: int) -> dict[str, dict[str, int]]:
    sums: dict[str, dict[str, int]] = {}
    for row in pd.read_parquet(out / "cells.parquet").to_dict("records"):
        acc = sums.setdefault(
            h3.cell_to_parent(row["h3"], res), dict.fromkeys(COUNTS, 0)
        )
        for col in COUNTS:
            acc[col] += int(row[col])
    return sums


def _meets(cell: str, bounds: mercantile.LngLatBbox) -> bool:
    ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
    return bool(shapely.Polygon(ring).intersects(shapely.box(*bounds)))


def _tiles_over(out: Path, z: int) -> list[mercantile.Tile]:
    cells = pd.read_parquet(out / "cells.parquet")["h3"]
    lat, lng = zip(*(h3.cell_to_latlng(c) for c in cells), strict=True)
    return list(mercantile.tiles(min(lng), min(lat), max(lng), max(lat), [z]))


@pytest.mark.parametrize("z", [8, 10, 12, 13])
def test_cell_tiles_hold_every_cell_of_their_level(
    client: TestClient, out: Path, z: int
) -> None:
    res = min(max(z - 3, 5), 9)  # the zoom's level, written again
    expected = _naive_cells(out, res)
    seen: set[str] = set()
    for t in _tiles_over(out, z):
        body = client.get(f"/tiles/cells/{z}/{t.x}/{t.y}.geojson?indicator=fibre")
        assert body.status_code == 200, body.text
        data = body.json()
        assert data["level"] == res
        want = {c for c in expected if _meets(c, mercantile.bounds(t))}
        assert set(data["keys"]) == want
        h3_col = data["tip"]["columns"].index(
            next(c for c in data["tip"]["columns"] if c["kind"] == "text")
        )
        for i, key in enumerate(data["keys"]):
            assert data["tip"]["values"][h3_col][i] == key
            assert data["tip"]["values"][1][i] == expected[key]["households"]
            assert data["tip"]["values"][2][i] == expected[key]["fibre_households"]
            assert data["shapes"][i]["type"] == "Polygon"
        mvt = client.get(f"/tiles/cells/{z}/{t.x}/{t.y}.mvt")
        assert mvt.status_code == 200
        assert mvt.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        decoded = mapbox_vector_tile.decode(mvt.content)
        features = decoded["cells"]["features"] if decoded else []
        props = {f["properties"]["h3"]: f["properties"] for f in features}
        assert set(props) == want
        for key, p in props.items():
            assert {c: p[c] for c in COUNTS} == expected[key]
            hh = expected[key]["households"]
            if hh:
                share = 100 * expected[key]["fibre_households"] / hh
                assert p["fibre_pct"] == pytest.approx(share, abs=1e-4)
        seen |= want
    assert seen == set(expected)  # the tiles together hold the whole level


def test_commune_tiles_hold_the_communes_they_meet(
    client: TestClient, out: Path
) -> None:
    doc = json.loads((out / "communes.geojson").read_text(encoding="utf-8"))
    shapes = {
        f["properties"]["commune_code"]: (
            shapely.geometry.shape(f["geometry"]),
            f["properties"],
        )
        for f in doc["features"]
    }
    for z in (9, 12):
        for t in _tiles_over(out, z):
            data = client.get(f"/tiles/communes/{z}/{t.x}/{t.y}.geojson").json()
            box = shapely.box(*mercantile.bounds(t))
            want = {c for c, (g, _) in shapes.items() if g.intersects(box)}
            assert set(data["keys"]) == want
            decoded = mapbox_vector_tile.decode(
                client.get(f"/tiles/communes/{z}/{t.x}/{t.y}.mvt").content
            )
            features = decoded["communes"]["features"] if decoded else []
            for f in features:
                p = f["properties"]
                own = shapes[p["commune_code"]][1]
                assert p["households"] == own["households"]
                assert p["commune_name"] == own["commune_name"]
                assert p.get("fibre_pct") == pytest.approx(own["fibre_pct"])
            assert {f["properties"]["commune_code"] for f in features} == want


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/tiles/cells/19/0/0.mvt", 422),
        ("/tiles/cells/3/8/0.mvt", 404),
        ("/tiles/cells/3/0/8.geojson", 404),
        ("/tiles/cells/-1/0/0.mvt", 422),
        ("/tiles/roads/3/0/0.mvt", 422),
        ("/tiles/cells/3/0/x.mvt", 422),
        ("/tiles/cells/3/0/0.geojson?indicator=x", 422),
    ],
)
def test_tiles_outside_the_matrix_are_refused(
    client: TestClient, url: str, status: int
) -> None:
    answer = client.get(url)
    assert answer.status_code == status
    assert "detail" in answer.json()


def test_tiles_are_gzipped_and_tagged_with_the_version(client: TestClient) -> None:
    url = "/tiles/cells/10/826/482.mvt"
    answer = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    etag = answer.headers["etag"]
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == answer.content  # httpx undid the gzip of the first
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_tilejson(client: TestClient) -> None:
    doc: dict[str, Any] = client.get("/tiles/cells.json").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"][0].endswith("/tiles/cells/{z}/{x}/{y}.mvt")
    assert doc["vector_layers"][0]["id"] == "cells"
    assert {"h3", "households", "fibre_pct"} <= set(doc["vector_layers"][0]["fields"])
    assert doc["synthetic"] is True
    west, south, east, north = doc["bounds"]
    assert west < east and south < north
    assert (
        client.get("/tiles/communes.json").json()["vector_layers"][0]["id"]
        == "communes"
    )


def test_results_without_a_pyramid_roll_up_the_cell_table(
    out: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in out.iterdir():
        if f.is_file():
            (bare / f.name).write_bytes(f.read_bytes())
    with TestClient(create_app(Settings(results_dir=bare, warm_maps=False))) as c:
        t = _tiles_over(out, 9)[0]
        url = f"/tiles/cells/9/{t.x}/{t.y}.geojson"
        with TestClient(create_app(Settings(results_dir=out, warm_maps=False))) as d:
            assert c.get(url).json() == d.get(url).json()
    assert gzip  # the module reads gzip bodies through httpx
