"""Serving within the country's targets, on a small generated region.

- ``/plan`` is computed once per results version: the cached bytes are the computed
  ones, a second request does not compute again, and a new version gets its own plan.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

import api.routes.planning as planning
from api.main import create_app
from api.plan import province_plan
from api.settings import Settings
from app.pipeline import RunResult, run_region
from tests.planning.region import Region, build


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Region:
    return build(tmp_path_factory.mktemp("bounded-region"), n=600, seed=5)


@pytest.fixture(scope="module")
def run(region: Region, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_region(region.folder, tmp_path_factory.mktemp("bounded-out") / "out")


def _client(out: Path, **extra: Any) -> TestClient:
    return TestClient(create_app(Settings(results_dir=out, warm_maps=False, **extra)))


@pytest.fixture(scope="module")
def client(run: RunResult) -> Iterator[TestClient]:
    with _client(run.out_dir) as c:
        yield c


def test_the_province_plan_is_computed_once_per_version(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = client.app.state.results  # type: ignore[attr-defined]
    calls: list[str] = []

    def counted(res: Any, indicator: str = "fibre") -> dict[str, Any]:
        calls.append(indicator)
        return province_plan(res, indicator)

    monkeypatch.setattr(planning, "province_plan", counted)
    for indicator in ("fibre", "mobile"):
        first = client.get(f"/plan?indicator={indicator}")
        again = client.get(f"/plan?indicator={indicator}")
        assert first.status_code == again.status_code == 200
        assert first.content == again.content
        assert first.headers["content-type"] == "application/json"
        assert orjson.loads(first.content) == province_plan(results, indicator)
    assert calls == ["fibre", "mobile"]  # each built once, then served from the cache


def test_a_new_version_gets_its_own_plan(region: Region, tmp_path: Path) -> None:
    folder, out = tmp_path / "region", tmp_path / "out"
    shutil.copytree(region.folder, folder)
    run_region(folder, out)
    with _client(out) as before:
        old = before.get("/plan").content
        old_version = before.app.state.results.version  # type: ignore[attr-defined]
    # Without its served areas, the region's fibre (and so its plan) changes.
    manifest = folder / "region.toml"
    parts = manifest.read_text().split("[[layers]]")
    manifest.write_text("[[layers]]".join(p for p in parts if "fibre_areas" not in p))
    run_region(folder, out)
    with _client(out) as after:
        results = after.app.state.results  # type: ignore[attr-defined]
        assert results.version != old_version
        new = after.get("/plan").content
        assert orjson.loads(new) == province_plan(results, "fibre")
        assert new != old
