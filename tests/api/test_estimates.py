"""Results spread from census counts say they are estimates wherever they are served."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geodx.contract_names import (
    ESTIMATED_NOTE,
    SYNTHETIC_NOTE,
)
from geodx.report import report_lines
from tests.api.conftest import write_results


def estimated_results(out: Path) -> Path:
    write_results(out, synthetic=False)
    path = out / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary["households_estimated"] = True
    path.write_text(json.dumps(summary), encoding="utf-8")
    return out


def test_served_geojson_and_exports_say_estimated(tmp_path: Path) -> None:
    app = create_app(Settings(results_dir=estimated_results(tmp_path / "r")))
    with TestClient(app) as client:
        for collection in ("communes", "districts", "cells", "gaps"):
            page = client.get(f"/collections/{collection}/items").json()
            assert page["households_estimated"] is True, collection
        csv = client.get("/gaps?indicator=fibre&format=csv").text
    first = csv.splitlines()[1]  # the first row, whose note column says it
    assert ESTIMATED_NOTE in first and SYNTHETIC_NOTE not in first


def test_points_results_carry_no_estimate_mark(results_dir: Path) -> None:
    with TestClient(create_app(Settings(results_dir=results_dir))) as client:
        page = client.get("/collections/communes/items").json()
        csv = client.get("/gaps?indicator=fibre&format=csv").text
    assert "households_estimated" not in page
    assert ESTIMATED_NOTE not in csv


def test_the_report_says_estimated(tmp_path: Path) -> None:
    out = estimated_results(tmp_path / "r")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in ("overlap_households", "mobile_target_met", "fibre_target_met"):
        summary.setdefault(key, None)  # the API fixture's summary is short
    doc = json.loads((out / "communes.geojson").read_text(encoding="utf-8"))
    communes = pd.DataFrame([f["properties"] for f in doc["features"]])
    assert "estimated" in report_lines(summary, communes)[0]
    summary.pop("households_estimated")
    assert "estimated" not in report_lines(summary, communes)[0]
