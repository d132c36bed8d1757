"""The shared headless-Chromium fixture (``tests/api/conftest.py``) for the map test."""

from tests.api.conftest import browser

__all__ = ["browser"]
