"""The service over a real ``geodx run`` of a small generated (synthetic) region."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from tests.shared_runs import demo_run


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    out = demo_run(tmp_path_factory, seed=11, households=3000)
    app = create_app(Settings(results_dir=out, warm_maps=False, max_limit=100_000))
    with TestClient(app) as client:
        yield client, out


def test_communes_and_summary_match_the_run(real: tuple[TestClient, Path]) -> None:
    client, out = real
    doc = json.loads((out / "communes.geojson").read_text(encoding="utf-8"))
    page = client.get("/collections/communes/items?limit=1000").json()
    assert page["numberMatched"] == len(doc["features"])
    assert [f["properties"] for f in page["features"]] == [
        f["properties"] for f in doc["features"]
    ]
    summary = client.get("/summary").json()
    assert summary["synthetic"] is True
    assert "SYNTHETIC DATA" in client.get("/?f=html").text


def test_cells_hold_every_household_including_unassigned(
    real: tuple[TestClient, Path],
) -> None:
    client, out = real
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    cells = pd.read_parquet(out / "cells.parquet")
    for res in (None, 6):
        query = "" if res is None else f"&resolution={res}"
        page = client.get(f"/collections/cells/items?limit=100000{query}").json()
        feats = page["features"]
        assert page["numberMatched"] == len(feats)  # all in one page
        total = sum(f["properties"]["households"] for f in feats)
        assert total == cells["households"].sum()
        assert total == summary["households"] + summary["unassigned_households"]


def test_report_gaps_and_maps_on_a_real_run(real: tuple[TestClient, Path]) -> None:
    client, _ = real
    gaps = client.get("/gaps?indicator=fibre").json()["gaps"]
    assert [g["gap_households"] for g in gaps] == sorted(
        (g["gap_households"] for g in gaps), reverse=True
    )
    code = client.get("/collections/communes/items?limit=1").json()["features"][0]["id"]
    report = client.get(f"/communes/{code}").json()
    assert report["commune_code"] == code and report["by_operator"]
    for path in ("/maps/coverage?indicator=mobile", f"/maps/communes/{code}"):
        r = client.get(path)
        assert r.status_code == 200 and "/static/leaflet/leaflet.js" in r.text
