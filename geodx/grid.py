"""H3 helpers: points to cells (vectorised), cell indexes to strings and polygons."""

from __future__ import annotations

import numpy as np
import polars as pl
import polars_h3 as plh3
import pyarrow as pa
from numpy.typing import NDArray

from geodx.errors import InvalidResolution


def check_resolution(resolution: int) -> None:
    """Raise :class:`InvalidResolution` unless ``0 <= resolution <= 15``."""
    if not isinstance(resolution, int) or not 0 <= resolution <= 15:
        raise InvalidResolution(f"resolution was {resolution}; expected 0-15")


def points_to_cells(
    lat: NDArray[np.float64], lng: NDArray[np.float64], *, resolution: int
) -> NDArray[np.uint64]:
    """H3 cell (as uint64) of each point, as ``polars-h3`` (h3o) computes it.

    The same cell as ``h3.latlng_to_cell`` (the C library) except exactly on a
    cell's edge, where the two libraries' rounding can send a point either way (a
    corner of base cell ``8011fffffffffff``, lat 69.3935964899183, lng
    62.345344956509734: here that cell, the C library's ``800bfffffffffff``).

    Examples
    --------
    >>> import h3
    >>> c = points_to_cells(np.array([12.6667]), np.array([108.05]), resolution=9)
    >>> cells_to_str(c)[0] == h3.latlng_to_cell(12.6667, 108.05, 9)
    True
    """
    check_resolution(resolution)
    if len(lat) == 0:
        return np.zeros(0, dtype=np.uint64)
    frame = pl.DataFrame({"lat": lat, "lng": lng})
    cells = frame.select(plh3.latlng_to_cell("lat", "lng", resolution)).to_series()
    return cells.to_numpy().astype(np.uint64, copy=False)


def cells_to_str(cells: NDArray[np.uint64]) -> list[str]:
    """H3 cell indexes as the library's 15-character hexadecimal strings.

    Examples
    --------
    >>> cells_to_str(np.array([0x8965b2c0017ffff], dtype=np.uint64))
    ['8965b2c0017ffff']
    """
    text = np.asarray(cells, dtype=">u8").tobytes().hex()
    # A cell index's top four bits are zero (reserved bit and mode 1 start at bit 59),
    # so its hexadecimal form is 15 digits: drop the leading "0" of each 16.
    return [text[i + 1 : i + 16] for i in range(0, len(text), 16)]


#: Bytes an Arrow string array's 32-bit offsets can address.
_STRING_BYTES = 2**31


def h3_column(cells: NDArray[np.uint64]) -> pa.Array:
    """:func:`cells_to_str`'s names as one Arrow string array, from the bytes.

    >>> h3_column(np.array([0x8965B2C0017FFFF], dtype=np.uint64)).to_pylist()
    ['8965b2c0017ffff']
    """
    n = len(cells)
    if 15 * n >= _STRING_BYTES:  # past 32-bit offsets: one Python string a cell
        return pa.array(cells_to_str(cells), type=pa.string())
    # A cell's top four bits are zero: its name is 15 of its 16 hexadecimal digits.
    text = np.asarray(cells, dtype=">u8").tobytes().hex().encode("ascii")
    digits = np.frombuffer(text, dtype=np.uint8).reshape(n, 16)[:, 1:]
    offsets = np.arange(0, 15 * n + 1, 15, dtype=np.int32)
    data = np.ascontiguousarray(digits)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
