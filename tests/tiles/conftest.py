"""Fixtures of the tile tests: the shared headless-Chromium ``browser``."""

from __future__ import annotations

from tests.api.conftest import browser  # noqa: F401  (the shared Chromium fixture)
