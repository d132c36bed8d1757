"""``points_to_pixels`` is the floor rule, and ``signal_reaches`` the NaN rule, exactly.

Written plainly here: ``col = floor(x')``, ``row = floor(y')`` and inside when both lie
in the raster, on points on pixel edges, at the raster's edges, just inside and
outside them, signed zeros, infinities and NaN, in north-up, flipped and rotated
transforms.
"""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from geodx.raster import points_to_pixels, signal_reaches

RNG = np.random.default_rng(0)


def _floor_rule(x, y, transform, width, height):  # type: ignore[no-untyped-def]
    inv = ~transform
    with np.errstate(invalid="ignore"):
        col = np.floor(inv.a * x + inv.b * y + inv.c)
        row = np.floor(inv.d * x + inv.e * y + inv.f)
        inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    return (
        np.where(inside, row, -1).astype(np.int64),
        np.where(inside, col, -1).astype(np.int64),
        inside,
    )


def _points() -> tuple[np.ndarray, np.ndarray]:
    x = RNG.uniform(-50, 1050, 50_000)
    y = RNG.uniform(-50, 1050, 50_000)
    x[:5000], y[5000:10_000] = np.round(x[:5000]), np.round(y[5000:10_000])  # edges
    odd = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1000.0, np.nextafter(1000.0, 0),
           -1e-300, 1e300, -1e300, np.nextafter(0.0, -1)]  # fmt: skip
    x[10_000 : 10_000 + len(odd)] = odd
    y[10_020 : 10_020 + len(odd)] = odd
    return x, y


@pytest.mark.parametrize(
    "transform",
    [
        Affine(1, 0, 0, 0, -1, 1000),
        Affine(10, 0, -3, 0, -10, 1000),
        Affine(0.7, 0.2, 5, -0.1, -0.9, 990),
        Affine(-1, 0, 1000, 0, 1, 0),
    ],
)
@pytest.mark.parametrize(("width", "height"), [(1000, 1000), (97, 13)])
def test_the_floor_rule(transform: Affine, width: int, height: int) -> None:
    x, y = _points()
    with np.errstate(invalid="ignore"):
        got = points_to_pixels(x, y, transform, width=width, height=height)
    want = _floor_rule(x, y, transform, width, height)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    assert got[2].any() and not got[2].all()


def test_signal_reaches_leaves_nan_out() -> None:
    values = np.r_[RNG.uniform(-130, -60, 1000), np.nan, -105.0, np.inf, -np.inf]
    want = ~np.isnan(values) & (values >= -105)
    np.testing.assert_array_equal(signal_reaches(values, min_value=-105), want)
