"""Budgets for untrusted inputs: declared sizes checked before reading, never hoped for.

Every limit has a default that fits a country on one machine; the command line (``app``)
may replace them (``GEODX_MAX_*`` variables). Core and layer readers take a
:class:`Limits` argument and refuse beyond it with one line naming the file, the size
found and the limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from geodx.errors import LimitsError

ENV_PREFIX = "GEODX_"


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what one input may declare or decode to."""

    # Any one input file, in bytes on disk.
    max_file_bytes: int = 4 * 1024**3
    # Bytes the text and geometry columns of a (compressed) Parquet file decode to.
    max_decoded_bytes: int = 8 * 1024**3
    # Features (rows) of one vector file or table.
    max_features: int = 50_000_000
    # Vertices of one vector layer, all features together.
    max_vertices: int = 200_000_000
    # Pixels a raster declares (width x height).
    max_raster_pixels: int = 2 * 10**10
    # Bytes of pixels decoded in memory at once while reading a raster.
    max_raster_window_bytes: int = 512 * 1024**2
    # No zip budget: archives are refused (geodx.formats); a zipped shapefile is
    # unpacked by its user, so its parts meet max_file_bytes like any file.
    # Households one point may stand for (a weight); a building holds a few, a
    # census block a few thousand, and no point a million.
    max_household_weight: int = 1_000_000


DEFAULT_LIMITS = Limits()


def limits_from_env(
    environ: Mapping[str, str], base: Limits = DEFAULT_LIMITS
) -> Limits:
    """Return ``base`` with every ``GEODX_MAX_*`` variable of ``environ`` applied.

    ``GEODX_MAX_FEATURES=1000000`` sets ``max_features``; values are whole numbers
    (``_`` allowed as a separator) greater than zero.

    Raises
    ------
    LimitsError
        A limit's variable that is not a whole number greater than zero. Variables
        that name no limit are left to their owners (``GEODX_MAX_LIMIT`` is the
        service's page size).

    Examples
    --------
    >>> limits_from_env({"GEODX_MAX_FEATURES": "1_000", "HOME": "/root"}).max_features
    1000
    """
    names = {f.name for f in fields(Limits)}
    changes: dict[str, int] = {}
    for variable, raw in environ.items():
        if not variable.startswith(ENV_PREFIX + "MAX_"):
            continue
        name = variable[len(ENV_PREFIX) :].lower()
        if name not in names:  # another setting (the service's GEODX_MAX_LIMIT)
            continue
        try:
            value = int(raw.strip())
        except ValueError:
            value = 0
        if value <= 0:
            raise LimitsError(
                f"{variable} was {raw!r}; expected a whole number greater than 0"
            )
        changes[name] = value
    return replace(base, **changes)
