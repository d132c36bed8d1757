"""Zoom-16 Web Mercator tiles (Ookla's open performance tiles), vectorised.

A tile is held as one integer, ``x * 2**16 + y``. :func:`tile_keys` is mercantile's
``tile(lng, lat, 16)`` rule over arrays (the tests check it against mercantile, on tile
corners and edges too); :func:`quadkey_keys` reads quadkey text, :func:`quadkeys` writes
it, :func:`tile_bounds` gives the WGS84 bounds (mercantile's ``bounds``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from geodx.errors import InputFileError

ZOOM = 16
# mercantile.tile: points within EPSILON of a tile's right or lower side count in the
# next tile over (a tile's own corner, round-tripped, lands in that tile).
EPSILON = 1e-14
_WEIGHTS = np.int64(1) << np.arange(ZOOM - 1, -1, -1, dtype=np.int64)


def tile_keys(lng: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.int64]:
    """The zoom-16 tile of each point as ``x * 2**16 + y`` (mercantile's rule).

    Examples
    --------
    >>> k = tile_keys(np.array([108.05]), np.array([12.68]))
    >>> int(k[0] // 2**16), int(k[0] % 2**16)
    (52437, 30440)
    """
    z2 = 2.0**ZOOM
    x = np.asarray(lng, dtype=np.float64) / 360.0 + 0.5
    sinlat = np.sin(np.radians(np.asarray(lat, dtype=np.float64)))
    with np.errstate(divide="ignore", invalid="ignore"):
        y = 0.5 - 0.25 * np.log((1.0 + sinlat) / (1.0 - sinlat)) / np.pi
    xt = np.clip(np.floor((x + EPSILON) * z2), 0, z2 - 1)
    yt = np.clip(np.floor((y + EPSILON) * z2), 0, z2 - 1)
    xt = np.where(x <= 0, 0, np.where(x >= 1, z2 - 1, xt))
    yt = np.where(y <= 0, 0, np.where(y >= 1, z2 - 1, yt))
    return (xt.astype(np.int64) << ZOOM) | yt.astype(np.int64)


def quadkey_keys(quadkeys: NDArray[np.str_], *, path: Path) -> NDArray[np.int64]:
    """Zoom-16 quadkeys (text) as ``x * 2**16 + y``; anything else is refused.

    Examples
    --------
    >>> int(quadkey_keys(np.array(["0000000000000013"]), path=Path("t.parquet"))[0])
    196609
    """
    text = np.asarray(quadkeys, dtype=str)
    digits = np.char.str_len(text) == ZOOM
    raw = np.frombuffer(
        np.asarray(text, dtype=f"U{ZOOM}").tobytes(), dtype=np.uint32
    ).reshape(len(text), ZOOM)
    digit = raw.astype(np.int64) - ord("0")
    ok = digits & ((digit >= 0) & (digit <= 3)).all(axis=1)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise InputFileError(
            f"{path}: column 'quadkey', row {row + 1}: {str(text[row])[:40]!r} is not "
            f"a zoom-{ZOOM} quadkey ({ZOOM} digits 0-3)"
        )
    x = ((digit & 1) * _WEIGHTS).sum(axis=1)
    y = ((digit >> 1) * _WEIGHTS).sum(axis=1)
    return np.asarray((x << ZOOM) | y, dtype=np.int64)


def quadkeys(keys: NDArray[np.int64]) -> list[str]:
    """Tiles as quadkey text (the inverse of :func:`quadkey_keys`).

    Examples
    --------
    >>> quadkeys(np.array([196609]))
    ['0000000000000013']
    """
    k = np.asarray(keys, dtype=np.int64)
    x, y = (k >> ZOOM)[:, None], (k & (2**ZOOM - 1))[:, None]
    digit = ((x & _WEIGHTS) > 0).astype(np.int64) + 2 * ((y & _WEIGHTS) > 0)
    return ["".join(map(str, row)) for row in digit.tolist()]


def tile_bounds(keys: NDArray[np.int64]) -> NDArray[np.float64]:
    """WGS84 ``west, south, east, north`` of each tile, one row a tile.

    Examples
    --------
    >>> tile_bounds(np.array([0]))[0].round(4).tolist()
    [-180.0, 85.0507, -179.9945, 85.0511]
    """
    k = np.asarray(keys, dtype=np.int64)
    z2 = 2.0**ZOOM
    x, y = (k >> ZOOM).astype(np.float64), (k & (2**ZOOM - 1)).astype(np.float64)

    def lat(row: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * row / z2))))

    return np.column_stack(
        [x / z2 * 360 - 180, lat(y + 1), (x + 1) / z2 * 360 - 180, lat(y)]
    )
