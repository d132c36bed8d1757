"""Reading one table of a manifest document: keys, typed values, numbers, files.

:class:`ManifestReader` is what the manifest parser (:mod:`geodx.manifest`,
:mod:`geodx.manifest_layers`) checks values with; every message names the file and
the key. Paths are local files only (:func:`refused_path`).
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Any

from geodx.errors import ManifestError

# A URL (http:, ftp:, s3:, file:, ...) or a GDAL prefix (GPKG:, NETCDF:, ...): a
# scheme of two or more letters, so that a Windows drive (C:) is still a path.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")
# GDAL's virtual file systems: /vsicurl/, /vsizip/, /vsimem/, ... anywhere in the path.
_VSI = re.compile(r"(^|[/\\])vsi[a-z0-9]*(?:_streaming)?([/\\]|$)", re.IGNORECASE)


def refused_path(raw: str) -> str | None:
    """Why a manifest path is refused (a URL or a GDAL ``/vsi`` path), else ``None``.

    Examples
    --------
    >>> refused_path("/vsicurl/http://127.0.0.1/x.tif")
    'is a GDAL virtual file system path (/vsi...)'
    >>> refused_path("https://example.org/communes.geojson")
    'is a URL or GDAL prefix (https:)'
    >>> refused_path("data/communes.gpkg") is None
    True
    """
    if _VSI.search(raw):
        return "is a GDAL virtual file system path (/vsi...)"
    match = _SCHEME.match(raw)
    if match:
        return f"is a URL or GDAL prefix ({match.group(0)})"
    if "\x00" in raw:
        return "holds a NUL character"
    return None


class ManifestReader:
    """Checks the values of one manifest document; messages name file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> ManifestError:
        """The error for ``[where] message`` in this file."""
        return ManifestError(f"{self.path}: [{where}] {message}")

    def check_keys(self, where: str, table: Any, allowed: set[str]) -> dict[str, Any]:
        """``table`` itself, once it is a table holding only ``allowed`` keys."""
        if not isinstance(table, dict):
            raise self.fail(where, "must be a table")
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise self.fail(where, f"unknown key '{key}'{hint}")
        return table

    def get(
        self, where: str, table: dict[str, Any], key: str, kind: type | tuple[type, ...]
    ) -> Any:
        """``table[key]`` when of ``kind`` (a bool is no number); None when absent."""
        value = table.get(key)
        if value is None:
            return None
        ok = isinstance(value, kind) and not (
            isinstance(value, bool) and kind in (int, float, (int, float))
        )
        if not ok:
            names = {"str": "a string", "int": "an integer", "bool": "true or false"}
            name = (
                names.get(kind.__name__, "a number")
                if isinstance(kind, type)
                else "a number"
            )
            raise self.fail(where, f"'{key}' must be {name}, got {value!r}")
        return value

    def number(
        self,
        where: str,
        table: dict[str, Any],
        key: str,
        default: float,
        low: float,
        high: float,
        *,
        open_low: bool = False,
    ) -> float:
        """``table[key]`` in ``[low, high]`` (``(low, high]``: open_low), or default."""
        value = self.get(where, table, key, (int, float))
        if value is None:
            return default
        if not math.isfinite(value):  # TOML allows nan and inf
            raise self.fail(where, f"'{key}' was {value}; expected a finite number")
        too_low = value <= low if open_low else value < low
        if too_low or value > high:
            bracket = "(" if open_low else "["
            raise self.fail(
                where,
                f"'{key}' was {value}; expected a value in {bracket}{low}, {high}]",
            )
        return float(value)

    def file(self, where: str, table: dict[str, Any], key: str = "path") -> Path:
        """``table[key]``: an existing local file, relative to this file's folder."""
        raw = self.get(where, table, key, str)
        if not raw:
            raise self.fail(where, f"'{key}' is required")
        refused = refused_path(raw)
        if refused:
            raise self.fail(where, f"'{key}' {refused}; give a local file")
        path: Path = (self.path.parent / raw).resolve()
        if not path.exists():
            raise self.fail(where, f"{key} '{raw}' does not exist ({path})")
        if not path.is_file():
            raise self.fail(where, f"{key} '{raw}' is not a file ({path})")
        return path
