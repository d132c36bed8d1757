"""Fixtures of every test folder: one headless Chromium for the whole session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium")) if p and
                 Path(p).exists()), None)  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    """Warnings are errors (pyproject.toml), but for one that only races make.

    FastAPI builds a route's parameters on its first request and silences pydantic's
    UnsupportedFieldAttributeWarning there under ``warnings.catch_warnings()``; another
    thread leaving its own ``catch_warnings()`` meanwhile (a region prepared or maps
    warmed in the background) restores the filters without that silence, and the
    warning, an error here, became a 500 now and then.
    """
    config.addinivalue_line(
        "filterwarnings", "ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium, unable to resolve any host but 127.0.0.1.

    Started once (a launch costs seconds on a loaded machine); each test opens its own
    page, in a context of its own.
    """
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )  # fmt: skip
        try:
            yield b
        finally:
            b.close()
