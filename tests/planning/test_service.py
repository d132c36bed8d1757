"""The live service: 503 without a region or with out-of-date results; the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from app.cli import app as cli
from app.live import LiveRegion, StaleRegion, open_live_region
from app.pipeline import RunResult
from app.services import SERVICES
from tests.planning.conftest import settings
from tests.planning.region import Region, answers


def test_the_live_service_is_registered() -> None:
    assert SERVICES["live"] == "app.live:open_live_region"


def test_lookup_without_a_region_is_503(run: RunResult) -> None:
    app = create_app(settings(run, None), services={"live": open_live_region})
    with TestClient(app) as client:
        got = client.get("/lookup", params={"lon": 108.01, "lat": 12.61})
        assert got.status_code == 503
        assert "GEODX_REGION" in got.json()["detail"]
        # plans read the results only: they still answer
        assert client.get("/communes/A01/plan").status_code == 200
        assert client.get("/lookup", params={"lon": 999, "lat": 0}).status_code == 422


def test_out_of_date_results_are_503(
    region: Region, run: RunResult, tmp_path: Path
) -> None:
    copy = tmp_path / "region"
    shutil.copytree(region.folder, copy)
    live = open_live_region(settings(run, copy))
    assert isinstance(live, LiveRegion)  # the same bytes: current
    with (copy / "households.csv").open("a", encoding="utf-8") as f:
        f.write("108.01,12.61,1\n")
    stale = open_live_region(settings(run, copy))
    assert isinstance(stale, StaleRegion)
    app = create_app(settings(run, copy), services={"live": open_live_region})
    with TestClient(app) as client:
        got = client.get("/lookup", params={"lon": 108.01, "lat": 12.61})
        assert got.status_code == 503
        assert got.json()["detail"].startswith("results are out of date")


def test_results_without_a_plan_table_are_503(run: RunResult, tmp_path: Path) -> None:
    folder = tmp_path / "old"
    shutil.copytree(run.out_dir.resolve(), folder)
    (folder / "plan.parquet").unlink()
    app = create_app(settings(run, None).model_copy(update={"results_dir": folder}))
    with TestClient(app) as client:
        got = client.get("/communes/A01/plan")
        assert got.status_code == 503 and "plan.parquet" in got.json()["detail"]
        assert client.get("/communes/A01/plan?indicator=mobile").status_code == 200


def test_cli_prints_the_lookup_as_json(region: Region) -> None:
    runner = CliRunner()
    got = runner.invoke(cli, ["lookup", str(region.folder), "108.01", "12.61"])
    assert got.exit_code == 0, got.output
    body = json.loads(got.stdout)
    want = answers(region, 108.01, 12.61)
    assert body["commune_code"] == want["commune_code"] == "A01"
    assert body["layers"] == want["layers"] and body["h3"] == want["h3"]
    far = runner.invoke(cli, ["lookup", str(region.folder), "--", "-70.5", "-33.4"])
    assert json.loads(far.stdout)["commune_code"] is None


def test_cli_errors_are_one_line(region: Region, tmp_path: Path) -> None:
    runner = CliRunner()
    for args, words in (
        ([str(region.folder), "200", "12"], "lon was 200.0"),
        ([str(region.folder), "108", "nan"], "lat was nan"),
        ([str(tmp_path / "none"), "108", "12"], "not found"),
    ):
        got = runner.invoke(cli, ["lookup", *args])
        assert got.exit_code == 2
        lines = got.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], got.stderr
