"""``geodx serve`` prints the URLs people open: the public one behind a proxy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.api.test_cli import calls, cli  # noqa: F401  (the fixture: no server starts)


@pytest.mark.parametrize(
    ("base", "shown"),
    [
        (None, "http://127.0.0.1:8123"),
        ("https://geodx.example.vn/dak-lak/", "https://geodx.example.vn/dak-lak"),
    ],
)
def test_serve_prints_the_public_urls(
    calls: dict[str, Any],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    base: str | None,
    shown: str,
) -> None:
    if base is None:
        monkeypatch.delenv("GEODX_BASE_URL", raising=False)
    else:
        monkeypatch.setenv("GEODX_BASE_URL", base)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli(), ["serve", "region", "--port", "8123", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert f"map: {shown}/maps/coverage?indicator=fibre" in r.output
    assert f"API: {shown}/  (OpenAPI: {shown}/docs)" in r.output
    assert calls["port"] == 8123  # still listening where it was told
