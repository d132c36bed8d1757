"""Errors of the demo generator."""

from __future__ import annotations

from geodx.errors import GeodxError


class DemoInputError(GeodxError, ValueError):
    """A demo parameter or input table is unusable (size, column, code)."""
