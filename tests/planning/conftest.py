"""One generated region, run once, for every planning test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from app.live import open_live_region
from app.pipeline import RunResult, run_region
from tests.planning.region import Region, build


@pytest.fixture(scope="session")
def region(tmp_path_factory: pytest.TempPathFactory) -> Region:
    return build(tmp_path_factory.mktemp("planning-region"))


@pytest.fixture(scope="session")
def run(region: Region, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    out = tmp_path_factory.mktemp("planning-out") / "out"
    return run_region(region.folder, out)


def settings(run: RunResult, region: Path | None) -> Settings:
    return Settings(results_dir=run.out_dir, region=region, warm_maps=False)


@pytest.fixture(scope="session")
def client(region: Region, run: RunResult) -> Iterator[TestClient]:
    app = create_app(settings(run, region.folder), services={"live": open_live_region})
    with TestClient(app) as c:
        yield c
