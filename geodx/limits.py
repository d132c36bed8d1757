"""Budgets for untrusted inputs: declared sizes checked before reading, never hoped for.

Every limit has a default that fits a country on one machine; the command line (``app``)
may replace them (``GEODX_MAX_*`` variables). Core and layer readers take a
:class:`Limits` argument and refuse beyond it with one line naming the file, the size
found and the limit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what one input may declare or decode to."""

    # Any one input file, in bytes on disk.
    max_file_bytes: int = 4 * 1024**3
    # Features (rows) of one vector file or table.
    max_features: int = 50_000_000
    # Vertices of one vector layer, all features together.
    max_vertices: int = 200_000_000
    # Pixels a raster declares (width x height).
    max_raster_pixels: int = 2 * 10**10
    # Bytes of pixels decoded in memory at once while reading a raster.
    max_raster_window_bytes: int = 512 * 1024**2
    # Uncompressed bytes of a zip archive (a zipped shapefile).
    max_unzipped_bytes: int = 4 * 1024**3


DEFAULT_LIMITS = Limits()
