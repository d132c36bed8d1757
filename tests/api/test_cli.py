"""``geodx serve``: computes only when the results are stale, then starts uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from app.serve import HTTP_PROTOCOL, default_out, serve_command
from geodx.outdir import atomic_output_dir
from geodx.outdir_snapshot import snapshot
from tests.api.conftest import write_results


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import uvicorn

    import app.pipeline as pipeline

    seen: dict[str, Any] = {"run": 0}
    current = {"value": False}
    for name in ("GEODX_RESULTS_DIR", "GEODX_RESULTS_VERSION"):  # serve sets them
        monkeypatch.setenv(name, "recorded, so that the test's value is undone")
        monkeypatch.delenv(name)

    def run_region(region: Path, out_dir: Path, **_: object) -> None:  # noqa: ARG001
        seen["run"] += 1
        seen["out"] = out_dir
        with atomic_output_dir(out_dir) as tmp:
            write_results(tmp)

    monkeypatch.setattr(pipeline, "run_region", run_region)
    monkeypatch.setattr(
        pipeline, "results_are_current", lambda *_, **__: current["value"]
    )
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    seen["current"] = current
    return seen


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("serve")(serve_command)
    app.command("other")(lambda: None)  # two commands: typer keeps the sub-command name
    return app


def test_serve_computes_stale_results_then_serves(
    calls: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    r = CliRunner().invoke(
        cli(), ["serve", "region", "--port", "8123", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert calls["run"] == 1 and calls["out"] == out
    assert calls["host"] == "127.0.0.1" and calls["port"] == 8123
    assert "http://127.0.0.1:8123/maps/coverage" in r.output


def test_serve_reuses_current_results(calls: dict[str, Any], tmp_path: Path) -> None:
    calls["current"]["value"] = True
    out = tmp_path / "out"
    write_results(out)
    r = CliRunner().invoke(cli(), ["serve", "region", "-o", str(out), "--host", "::1"])
    assert r.exit_code == 0, r.output
    assert calls["run"] == 0 and calls["host"] == "::1"
    assert "http://[::1]:8000/" in r.output


def test_serve_pins_one_version_for_every_worker(
    calls: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli(), ["serve", "region", "-o", str(out), "--workers", "2"])
    assert r.exit_code == 0, r.output
    pinned = snapshot(out)
    assert pinned.path != out and pinned.path.parent != out  # the version folder
    assert os.environ["GEODX_RESULTS_DIR"] == str(pinned.path)
    assert os.environ["GEODX_RESULTS_VERSION"] == pinned.version
    assert calls["app"] == "app.services:served_app" and calls["workers"] == 2
    # a worker busy starting (imports, the cell table) is not killed as hung
    assert calls["timeout_worker_healthcheck"] >= 30
    assert os.environ["GEODX_REGION"] == str(Path("region").resolve())
    assert calls["http"] == HTTP_PROTOCOL  # the header timeout
    assert os.environ["MALLOC_ARENA_MAX"] == "2"  # inherited by the spawned workers


@pytest.mark.usefixtures("calls")  # uvicorn and the run replaced
def test_serve_keeps_the_users_malloc_arenas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli(), ["serve", "region", "-o", str(out), "--workers", "2"])
    assert r.exit_code == 0, r.output
    assert os.environ["MALLOC_ARENA_MAX"] == "4"


def test_serve_without_results_is_one_line(
    calls: dict[str, Any], tmp_path: Path
) -> None:
    calls["current"]["value"] = True
    r = CliRunner().invoke(cli(), ["serve", "region", "-o", str(tmp_path / "none")])
    assert r.exit_code == 2 and "no results here" in r.output
    assert "app" not in calls


def test_default_out_names_the_region_folder(tmp_path: Path) -> None:
    region = tmp_path / "Đắk Lắk"
    assert default_out(region) == Path("build/serve/Đắk Lắk")
    assert default_out(region / "region.toml") == Path("build/serve/Đắk Lắk")
