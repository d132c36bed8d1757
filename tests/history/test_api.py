"""Two runs of a generated region with different layers, recorded and served.

``geodx run --as-of --history`` twice (the region, then its 2024 manifest with less
network), then ``GET /history`` and ``GET /communes/{code}/history`` against each
run's own ``summary.json`` and ``communes.geojson``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import tomllib
import warnings
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from api.routes.history import history_service
from api.settings import Settings
from app.cli import app as cli
from app.history import record_run
from geodx.history_store import HistoryStore
from geodx.outdir_snapshot import snapshot
from geodx.trajectory import DEADLINES
from tests.oracle.files import box, write_manifest, write_vector
from tests.oracle.worlds_random import build_basic

Run = dict[str, Any]


def geodx(*args: str) -> tuple[int, str]:
    with warnings.catch_warnings():  # the command sets its own warning display
        got = CliRunner().invoke(cli, list(args))
    return got.exit_code, got.output


def outputs(out: Path) -> Run:
    folder = snapshot(out).path
    summary = orjson.loads((folder / "summary.json").read_bytes())
    features = orjson.loads((folder / "communes.geojson").read_bytes())["features"]
    return {"summary": summary, "communes": {f["properties"]["commune_code"]:
                                             f["properties"] for f in features}}  # fmt: skip


def two_vintages(folder: Path) -> tuple[Path, Path]:
    """A small generated region (2025) and its 2024 self: a smaller fibre area, no 5G."""
    folder.mkdir()
    later = build_basic(folder).manifest
    doc = tomllib.loads(later.read_text(encoding="utf-8"))
    write_vector(
        folder / "fibre_2024.geojson", [box(108.0, 12.6, 108.008, 12.62)], 4326
    )
    write_vector(folder / "5g.geojson", [box(108.02, 12.60, 108.03, 12.62)], 4326)
    fibre, mobile = doc["layers"]
    earlier = write_manifest(folder, {**doc, "layers": [
        {**fibre, "path": "fibre_2024.geojson"}, mobile]})  # fmt: skip
    earlier = earlier.rename(folder / "region-2024.toml")
    fifth = {"id": "5g", "kind": "mobile", "technology": "5G", "path": "5g.geojson"}
    later = write_manifest(folder, {**doc, "layers": [fibre, mobile, fifth]})
    return later, earlier


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("history-run")
    later, earlier = two_vintages(root / "region")
    store = root / "history.sqlite"
    runs = {}
    for as_of, region, out in (
        ("2025-06-30", later, root / "out"),  # recorded first, listed second
        ("2024-12-31", earlier, root / "out-2024"),
    ):
        code, output = geodx("run", str(region), "--out", str(out), "--as-of", as_of,
                             "--history", str(store))  # fmt: skip
        assert code == 0, output
        assert f"recorded vintage {as_of}" in output
        runs[as_of] = outputs(out)
    return {"store": store, "runs": runs, "out": root / "out", "root": root}


@pytest.fixture(scope="module")
def client(recorded: dict[str, Any]) -> Any:
    settings = Settings(
        results_dir=recorded["out"], history=str(recorded["store"]), warm_maps=False
    )
    with TestClient(create_app(settings, services={"history": history_service})) as c:
        yield c


def test_history_lists_each_run_oldest_first_with_its_summary(
    recorded: dict[str, Any], client: TestClient
) -> None:
    got = client.get("/history")
    assert got.status_code == 200
    body = got.json()
    assert [v["as_of"] for v in body["vintages"]] == ["2024-12-31", "2025-06-30"]
    for vintage in body["vintages"]:
        summary = recorded["runs"][vintage["as_of"]]["summary"]
        for key in (
            "households",
            "fibre_households",
            "fibre_pct",
            "mobile_5g_pct",
            "mobile_commune_pct",
            "communes_mobile_covered",
            "engine_version",
        ):
            assert vintage[key] == summary[key], key  # fmt: skip
    early, late = body["vintages"]
    assert early["fibre_households"] < late["fibre_households"]  # less network
    assert early["mobile_5g_households"] == 0 < late["mobile_5g_households"]
    before, after = (
        recorded["runs"][d]["communes"] for d in ("2024-12-31", "2025-06-30")
    )
    for code, props in after.items():  # 2024 had less of every network
        for key in ("fibre_households", "mobile_households"):
            assert before[code][key] <= props[key], (code, key)
    assert body["status"]["fibre"]["2025"] in (
        "met",
        "on track",
        "at risk",
        "off track",
    )


def line(rows: list[tuple[str, float]], at: dt.date) -> float:
    """The least-squares line through two points is the line through them."""
    (d0, y0), (d1, y1) = ((dt.date.fromisoformat(d), y) for d, y in rows)
    slope = (y1 - y0) / (d1.toordinal() - d0.toordinal())
    return y0 + slope * (at.toordinal() - d0.toordinal())


def test_commune_history_and_its_projection(
    recorded: dict[str, Any], client: TestClient
) -> None:
    runs = recorded["runs"]
    code = sorted(runs["2025-06-30"]["communes"])[0]
    got = client.get(f"/communes/{code}/history")
    assert got.status_code == 200
    body = got.json()
    assert [v["as_of"] for v in body["vintages"]] == ["2024-12-31", "2025-06-30"]
    for vintage in body["vintages"]:
        props = runs[vintage["as_of"]]["communes"][code]
        assert {k: vintage[k] for k in props} == props
    points = [(v["as_of"], v["mobile_5g_pct"]) for v in body["vintages"]]
    for name, deadline in DEADLINES.items():
        expected = min(100.0, max(0.0, line(points, deadline)))
        assert body["projection"][name]["mobile_5g_pct"] == pytest.approx(
            expected, abs=1e-4
        )
    listed = {
        c["commune_code"]: c["status"]
        for c in client.get("/history").json()["communes"]
    }
    assert listed[code] == body["status"]
    assert set(listed) == set(runs["2025-06-30"]["communes"])


def test_unknown_commune_404_and_no_store_503(
    recorded: dict[str, Any], client: TestClient
) -> None:
    got = client.get("/communes/99999/history")
    assert got.status_code == 404
    assert "not in the history store" in got.json()["detail"]
    bare = create_app(Settings(results_dir=recorded["out"], warm_maps=False),
                      services={"history": history_service})  # fmt: skip
    with TestClient(bare) as c:
        for path in ("/history", "/communes/99999/history"):
            answer = c.get(path)
            assert answer.status_code == 503
            assert "no history store" in answer.json()["detail"]


def test_a_failing_run_records_nothing_and_options_go_together(
    recorded: dict[str, Any],
) -> None:
    store, root = recorded["store"], recorded["root"]
    before = store.read_bytes()
    broken = root / "broken"
    broken.mkdir()
    text = (root / "region" / "region.toml").read_text(encoding="utf-8")
    (broken / "region.toml").write_text(text, encoding="utf-8")  # files missing
    code, output = geodx("run", str(broken), "--out", str(root / "o"),
                         "--as-of", "2026-01-31", "--history", str(store))  # fmt: skip
    assert code == 2 and "error:" in output
    code, output = geodx(
        "run", str(broken), "--out", str(root / "o"), "--as-of", "2026-01-31"
    )
    assert code == 2 and "--as-of and --history go together" in output
    assert store.read_bytes() == before
    with sqlite3.connect(store) as db:
        dates = db.execute("select as_of from geodx_vintages order by as_of").fetchall()
    assert dates == [("2024-12-31",), ("2025-06-30",)]


def test_answers_revalidate_when_a_vintage_is_added(
    recorded: dict[str, Any], tmp_path: Path
) -> None:
    store = tmp_path / "copy.sqlite"
    shutil.copyfile(recorded["store"], store)
    settings = Settings(
        results_dir=recorded["out"], history=str(store), warm_maps=False
    )
    with TestClient(create_app(settings, services={"history": history_service})) as c:
        etag = c.get("/history").headers["etag"]
        assert c.get("/history", headers={"If-None-Match": etag}).status_code == 304
        record_run(HistoryStore(store), recorded["out"], dt.date(2025, 9, 30))
        again = c.get("/history", headers={"If-None-Match": etag})
        assert again.status_code == 200 and again.headers["etag"] != etag
        assert [v["as_of"] for v in again.json()["vintages"]][-1] == "2025-09-30"


def test_serve_history_sets_the_store_for_every_worker_or_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer
    import uvicorn

    import app.pipeline as pipeline
    from app.serve import serve_command
    from geodx.outdir import atomic_output_dir
    from tests.api.conftest import write_results

    out = tmp_path / "out"
    with atomic_output_dir(out) as tmp:
        write_results(tmp)
    for name in ("GEODX_RESULTS_DIR", "GEODX_RESULTS_VERSION", "GEODX_HISTORY"):
        monkeypatch.setenv(name, "recorded, so that the test's value is undone")
        monkeypatch.delenv(name)
    monkeypatch.setattr(pipeline, "results_are_current", lambda *_, **__: True)
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *_, **kw: seen.update(kw))
    cli = typer.Typer()
    cli.command("serve")(serve_command)
    cli.command("other")(lambda: None)
    store = tmp_path / "history.sqlite"
    got = CliRunner().invoke(
        cli, ["serve", "r", "-o", str(out), "--history", str(store)]
    )
    assert got.exit_code == 0, got.output
    assert os.environ["GEODX_HISTORY"] == str(store.resolve())
    assert "/history" in got.output and seen["port"] == 8000
    monkeypatch.delenv("GEODX_HISTORY")
    got = CliRunner().invoke(
        cli, ["serve", "r", "-o", str(out), "--history", "mysql://h/db"]
    )
    assert got.exit_code == 2
    assert "expected an SQLite file path or a postgresql" in got.output
    assert "GEODX_HISTORY" not in os.environ
