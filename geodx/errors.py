"""Errors raised by geodx; every message is one line that is safe to show to users."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    r"""The first line of a library's error message (its type name when it has none).

    Examples
    --------
    >>> first_line(ValueError("bad header\n  at byte 7")), first_line(OSError())
    ('bad header', 'OSError')
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class GeodxError(Exception):
    """Base class for every geodx error."""


class GeodxWarning(UserWarning):
    """Something was repaired or ignored; the run goes on and says so."""


class ManifestError(GeodxError, ValueError):
    """The region manifest is malformed: unknown key, wrong type, value out of range."""


class InputFileError(GeodxError, OSError):
    """An input file is missing, unreadable or corrupt."""


class UnsupportedFormat(InputFileError):
    """An input whose extension geodx does not read, or whose content is not that format."""


class InputTooLarge(InputFileError):
    """An input that declares more than a limit allows (size, features, vertices)."""


class LimitsError(GeodxError, ValueError):
    """A ``GEODX_MAX_*`` variable that is not a whole number greater than zero."""


class OutputDirError(GeodxError, OSError):
    """``--out`` names a folder geodx must not replace, or another run is writing it."""


class CountsError(GeodxError, ValueError):
    """Census counts that cannot be carried onto the boundaries (provinces unknown)."""


class MissingColumn(GeodxError, KeyError):
    """A column named in the manifest is not in the file."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CRSError(GeodxError, ValueError):
    """A file has no CRS, or coordinates that do not fit its CRS or the region."""


class GeometryError(GeodxError, ValueError):
    """Geometries of the wrong type, or empty where a shape is needed."""


class InvalidResolution(GeodxError, ValueError):
    """An H3 resolution outside 0-15."""


class UnknownCommune(GeodxError, LookupError):
    """No commune with that code."""


class ServiceUnavailable(GeodxError):
    """A service the request needs is not running (no region, stale or older results)."""
