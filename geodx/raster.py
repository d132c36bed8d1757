"""Signal rasters: which pixel holds each point, which blocks to read, what reaches the threshold.

No file access here: adapters (``layers.signal``) read the pixels and hand arrays over.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from affine import Affine
from numpy.typing import NDArray

from geodx.kernels_sort import stable_argsort


class PixelWindow(NamedTuple):
    """A window of whole blocks to read, and the points whose pixels it holds.

    Attributes
    ----------
    row_off, col_off, height, width : int
        The window, in pixels (rasterio's ``Window(col_off, row_off, width, height)``).
    points : ndarray of int64
        Indices (into the ``row``/``col`` arrays given) of the points inside it.
    """

    row_off: int
    col_off: int
    height: int
    width: int
    points: NDArray[np.int64]


def points_to_pixels(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    transform: Affine,
    *,
    width: int,
    height: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """Return ``(row, col, inside)`` of the pixel containing each point.

    ``col = floor(x')`` and ``row = floor(y')`` with ``(x', y')`` the inverse transform of ``(x, y)``;
    a point on a pixel edge belongs to the pixel to its right / below (larger index).

    Examples
    --------
    >>> from affine import Affine
    >>> t = Affine(10, 0, 0, 0, -10, 100)   # 10 m pixels, top-left at (0, 100)
    >>> r, c, ok = points_to_pixels(np.array([5.0, 10.0, -1.0]), np.array([95.0, 90.0, 95.0]),
    ...                             t, width=3, height=3)
    >>> r.tolist(), c.tolist(), ok.tolist()
    ([0, 1, -1], [0, 1, -1], [True, True, False])
    """
    inv = ~transform
    fx = inv.a * x + inv.b * y + inv.c
    fy = inv.d * x + inv.e * y + inv.f
    # floor(f) >= 0 exactly when f >= 0, and floor(f) < n (a whole number) exactly
    # when f < n; inside, f >= 0 truncates (astype) to floor(f). NaN is outside.
    with np.errstate(invalid="ignore"):
        inside = (fx >= 0) & (fx < width) & (fy >= 0) & (fy < height)
        col = np.where(inside, fx, -1).astype(np.int64)
        row = np.where(inside, fy, -1).astype(np.int64)
    return row, col, inside


def pixel_windows(
    row: NDArray[np.int64],
    col: NDArray[np.int64],
    *,
    block_shape: tuple[int, int],
    width: int,
    height: int,
    max_pixels: int,
) -> list[PixelWindow]:
    """Plan the reads: only the file's blocks that hold a point, adjacent ones together.

    A window is a run of consecutive blocks of one block row (or, for a file of
    whole-width strips, a run of consecutive strips) of at most ``max_pixels`` pixels,
    and never less than one block: memory is bounded by the blocks, never by the
    raster's declared size or by how far apart the points are.

    Parameters
    ----------
    row, col : ndarray of int64
        Pixel of each point, inside the raster.
    block_shape : (int, int)
        ``(block_height, block_width)`` of the band (rasterio's ``block_shapes``).
    width, height : int
        Raster size in pixels.
    max_pixels : int
        Largest window wanted, in pixels (one block is read even if it is larger).

    Returns
    -------
    list of PixelWindow
        Every point is in exactly one window.

    Examples
    --------
    >>> w = pixel_windows(np.array([0, 1, 300, 0]), np.array([0, 700, 5, 100]),
    ...                   block_shape=(256, 256), width=1000, height=1000, max_pixels=10**6)
    >>> [(p.row_off, p.col_off, p.height, p.width, p.points.tolist()) for p in w]
    [(0, 0, 256, 256, [0, 3]), (0, 512, 256, 256, [1]), (256, 0, 256, 256, [2])]
    """
    bh, bw = block_shape
    per_row = -(-width // bw)  # blocks per block row
    key = (row // bh) * per_row + col // bw
    order = stable_argsort(key)
    ordered = key[order]
    first = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    blocks = ordered[first]
    bounds = np.r_[first, len(order)]
    most = max(1, max_pixels // (bh * bw))
    windows: list[PixelWindow] = []
    start = 0
    for i in range(1, len(blocks) + 1):
        if (
            i == len(blocks)
            or blocks[i] != blocks[i - 1] + 1
            or (per_row > 1 and blocks[i] // per_row != blocks[start] // per_row)
            or i - start >= most
        ):
            points = order[bounds[start] : bounds[i]].astype(np.int64)
            windows.append(
                _window(
                    int(blocks[start]),
                    int(blocks[i - 1]),
                    points,
                    bh,
                    bw,
                    per_row,
                    width,
                    height,
                )
            )
            start = i
    return windows


def _window(
    first: int,
    last: int,
    points: NDArray[np.int64],
    bh: int,
    bw: int,
    per_row: int,
    width: int,
    height: int,
) -> PixelWindow:
    r0 = (first // per_row) * bh
    r1 = min(((last // per_row) + 1) * bh, height)
    c0 = (first % per_row) * bw
    c1 = min(((last % per_row) + 1) * bw, width)
    return PixelWindow(r0, c0, r1 - r0, c1 - c0, points)


def signal_reaches(
    values: NDArray[np.floating], *, min_value: float
) -> NDArray[np.bool_]:
    """Return whether each pixel value is valid (not NaN) and ``>= min_value``.

    Adapters hand over values as GDAL defines them: scale and offset applied, and
    NaN wherever the pixel is masked (mask band, alpha, nodata) or NaN itself.

    Examples
    --------
    >>> signal_reaches(np.array([-90.0, -110.0, np.nan]), min_value=-105)
    array([ True, False, False])
    """
    with np.errstate(invalid="ignore"):  # NaN >= anything is false
        reaches: NDArray[np.bool_] = np.greater_equal(values, min_value)
    return reaches
