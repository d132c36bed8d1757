"""``masked_sums`` gives ``np.bincount``'s sums, mask by mask, to the last bit."""

from __future__ import annotations

import numpy as np
import pytest

from geodx.kernels_sums import masked_sums

RNG = np.random.default_rng(53)


def _plain(group, n_groups, weight, masks):  # type: ignore[no-untyped-def]
    total = np.bincount(group, weights=weight, minlength=n_groups)
    return total, [
        np.bincount(group, weights=weight * m, minlength=n_groups) for m in masks
    ]


def _check(group, n_groups, weight, masks) -> None:  # type: ignore[no-untyped-def]
    total, sums = masked_sums(group, n_groups, weight, masks)
    want_total, want = _plain(group, n_groups, weight, masks)
    assert total.dtype == np.float64 and total.tobytes() == want_total.tobytes()
    assert len(sums) == len(want)
    for got, expect in zip(sums, want, strict=True):
        assert got.dtype == np.float64
        assert got.tobytes() == expect.tobytes()  # bit for bit, signed zeros too


def _masks(n: int, k: int) -> list[np.ndarray]:
    out = [RNG.random(n) < p for p in RNG.uniform(0, 1, k)]
    out += [np.zeros(n, dtype=bool), np.ones(n, dtype=bool)]
    return out


@pytest.mark.parametrize(
    "weights",
    [
        lambda n: np.ones(n),  # single households
        lambda n: RNG.integers(0, 40, n).astype(float),  # counts, zeros among them
        lambda n: RNG.integers(0, 2**20, n).astype(float),  # few lanes
        lambda n: np.r_[2.0**40, np.ones(n - 1)],  # one group near 2**40: no lanes
        lambda n: RNG.uniform(0, 3, n),  # fractions: mask by mask
        lambda n: np.round(RNG.uniform(0, 3, n), 1),  # tenths
        lambda n: np.r_[-1.0, np.ones(n - 1)],  # a negative weight
        lambda n: np.r_[np.nan, np.ones(n - 1)],
    ],
)
@pytest.mark.parametrize("n_groups", [1, 7, 3000])
def test_the_sums_of_bincount(weights, n_groups: int) -> None:  # type: ignore[no-untyped-def]
    n = 20_000
    group = np.sort(RNG.integers(0, n_groups, n))
    group[RNG.integers(0, n, 500)] = RNG.integers(0, n_groups, 500)  # out of order
    _check(group, n_groups + 5, weights(n), _masks(n, 33))  # empty groups at the end


def test_few_masks_and_none() -> None:
    group = np.array([0, 2, 2, 1])
    weight = np.array([3.0, 1.0, 5.0, 0.0])
    for k in range(4):
        _check(group, 4, weight, _masks(4, k)[:k])
    _check(np.zeros(0, dtype=np.int64), 3, np.zeros(0), _masks(0, 3))
