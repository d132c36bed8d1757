"""The composition root's services reach ``app.state`` of every worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from app import services as services_module
from tests.api.conftest import write_results


def test_a_service_is_built_once_at_start_up_from_the_settings(tmp_path: Path) -> None:
    write_results(tmp_path / "out")
    seen: list[Settings] = []

    def factory(settings: Settings) -> dict[str, Any]:
        seen.append(settings)
        return {"region": settings.region}

    settings = Settings(results_dir=tmp_path / "out", region=tmp_path, warm_maps=False)
    app = create_app(settings, services={"probe": factory})
    assert app.state.probe is None  # not before start-up
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert app.state.probe == {"region": tmp_path}
    assert seen == [settings]


def test_served_app_builds_every_registered_service(
    tmp_path: Path, monkeypatch: Any
) -> None:
    write_results(tmp_path / "out")
    monkeypatch.setenv("GEODX_RESULTS_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("GEODX_WARM_MAPS", "false")
    monkeypatch.setenv("GEODX_API_KEYS", " k1, ,k2 ")
    monkeypatch.setattr(
        services_module, "SERVICES", {"keys": "tests.app.test_services:keys"}
    )
    app = services_module.served_app()
    with TestClient(app):
        assert app.state.keys == ["k1", "k2"]


def keys(settings: Settings) -> list[str]:
    return settings.api_keys
