"""Fixtures of the map tests: a results folder with map layers, a client, a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from tests.api.conftest import live_server
from tests.maps.prefixed import PREFIX, prefixed
from tests.maps.world import write_map_results


@pytest.fixture(scope="session")
def map_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_map_results(tmp_path_factory.mktemp("maps") / "results")


@pytest.fixture(scope="module")
def map_client(map_results: Path) -> Iterator[TestClient]:
    with TestClient(
        create_app(Settings(results_dir=map_results, warm_maps=False))
    ) as c:
        yield c


@pytest.fixture(scope="module")
def live(map_results: Path) -> Iterator[str]:
    """The app on 127.0.0.1 under ``PREFIX`` (GEODX_BASE_URL with a path): its base URL.

    uvicorn runs in a thread of this process (no second interpreter to start).
    """

    def build(base: str) -> Any:
        settings = Settings(results_dir=map_results, base_url=base, warm_maps=False)
        return prefixed(create_app(settings))

    with live_server(build, prefix=PREFIX, name="live-maps") as base:
        yield base
