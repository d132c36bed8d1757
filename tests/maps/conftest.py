"""Fixtures of the map tests: a results folder with map layers, a client, a live server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from tests.api.conftest import browser  # noqa: F401  (the shared Chromium fixture)
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
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    base = f"http://127.0.0.1:{port}{PREFIX}"
    settings = Settings(results_dir=map_results, base_url=base, warm_maps=False)
    config = uvicorn.Config(prefixed(create_app(settings)), host="127.0.0.1",
                            port=port, log_level="warning", lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-maps", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "no server"
            time.sleep(0.02)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
