"""``geodx.kernels_sort.stable_argsort`` is ``np.argsort(kind="stable")`` to the element."""

from __future__ import annotations

import numpy as np
import pytest

from geodx.kernels_sort import stable_argsort

RNG = np.random.default_rng(7)


def _cases() -> list[np.ndarray]:
    n = 20_000
    clustered = np.repeat(RNG.integers(0, 900, 400), 50)  # runs of ties, as cells
    clustered[RNG.integers(0, n, 300)] = RNG.integers(0, 900, 300)
    info64 = np.iinfo(np.int64)
    runs = np.sort(RNG.integers(0, 2**40, n))
    runs[RNG.integers(0, n, 100)] = RNG.integers(0, 2**40, 100)  # a few descents
    return [
        runs,  # long sorted runs: timsort
        clustered,  # narrow range: the radix path
        clustered.astype(np.int32) - 450,  # negative keys
        RNG.integers(-(2**40), 2**40, n),  # the packed path, signed
        RNG.integers(0, 2**44, n, dtype=np.uint64) + np.uint64(2**63),  # high bits
        np.array([info64.min, info64.max, 0, info64.min, -1, info64.max]),  # fallback
        np.array([2**64 - 1, 0, 2**64 - 1, 5], dtype=np.uint64),  # fallback, unsigned
        RNG.integers(0, 3, n).astype(np.uint8),
        RNG.integers(0, 2**16, n).astype(np.uint16),  # exactly 16 bits of range
        RNG.integers(0, 2**16 + 1, n),  # 17 bits of range
        np.zeros(1000, dtype=np.int64),  # every key tied
        np.arange(1000)[::-1].copy(),  # reversed
        np.array([], dtype=np.int64),
        np.array([3]),
        np.array([2.5, -1.0, 2.5, np.nan, 0.0]),  # not integers: numpy's own sort
    ]


@pytest.mark.parametrize("key", _cases(), ids=lambda k: f"{k.dtype}-{len(k)}")
def test_the_stable_argsort_order(key: np.ndarray) -> None:
    got = stable_argsort(key)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.argsort(key, kind="stable"))


def test_many_points_leave_fewer_bits_for_the_key() -> None:
    # 2**20 points take 20 bits: a 44-bit range packs (64), a 45-bit one does not.
    n = 2**20
    for bits in (44, 45):
        key = RNG.integers(0, 2**bits, n)
        key[:2] = [0, 2**bits - 1]
        key[RNG.integers(0, n, 1000)] = key[0]  # ties at the smallest key
        np.testing.assert_array_equal(
            stable_argsort(key), np.argsort(key, kind="stable")
        )


def test_two_dimensions_are_refused() -> None:
    with pytest.raises(ValueError, match="one dimension"):
        stable_argsort(np.zeros((2, 2), dtype=np.int64))
