"""Weights summed per group under many masks at once, to the last bit of ``bincount``.

A row sum of a mask is ``np.bincount(group, weights=weight * mask)``: one pass over the
households per mask, and a partition's rows sum 35 masks. When every weight is a whole
number ``>= 0`` (household counts), several masks share one pass: a household adds
``weight * (m_0 + m_1 2**k + m_2 2**2k + ...)``, mask ``j`` in the ``j``-th lane of ``k``
bits, with ``2**k`` above every group's total weight, so no lane's sum carries into the
next. With ``k`` times the lanes at most 53, every such sum and every partial sum on
the way is a whole number below ``2**53``: float64 holds each exactly, in whatever
order it is added, and the lanes read back (as int64) are the very sums ``bincount``
gives mask by mask, which are whole numbers below ``2**53`` as well. Other weights
are summed mask by mask with ``bincount`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

#: At most this many masks share a pass (their lane values are looked up by a byte).
MOST_LANES = 8
#: Bits of a float64's significand: whole numbers below 2**53 are exact.
_EXACT_BITS = 53


def masked_sums(
    group: NDArray[np.int64],
    n_groups: int,
    weight: NDArray[np.float64],
    masks: Sequence[NDArray[np.bool_]],
) -> tuple[NDArray[np.float64], list[NDArray[np.float64]]]:
    """Return the weight per group, and per group under each mask.

    The same values as ``np.bincount(group, weights=weight, minlength=n_groups)`` and
    ``np.bincount(group, weights=weight * mask, minlength=n_groups)`` for each mask.

    Parameters
    ----------
    group : ndarray of int64
        Each household's group, in ``0..n_groups-1``.
    n_groups : int
    weight : ndarray of float64
    masks : sequence of ndarray of bool

    Returns
    -------
    total : ndarray of float64
    sums : list of ndarray of float64, one per mask

    Examples
    --------
    >>> group = np.array([0, 1, 1, 2, 1])
    >>> weight = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> a = np.array([True, False, True, True, True])
    >>> b = np.array([False, True, False, False, True])
    >>> total, (in_a, in_b, in_both) = masked_sums(group, 3, weight, [a, b, a & b])
    >>> total.tolist(), in_a.tolist(), in_b.tolist(), in_both.tolist()
    ([1.0, 10.0, 4.0], [1.0, 8.0, 4.0], [0.0, 7.0, 0.0], [0.0, 5.0, 0.0])
    """
    total = np.bincount(group, weights=weight, minlength=n_groups).astype(np.float64)
    lanes, k = _lanes(total, weight, len(masks))
    if lanes < 2:
        return total, [_sum(group, n_groups, weight * mask) for mask in masks]
    sums: list[NDArray[np.float64]] = []
    for first in range(0, len(masks), lanes):
        chunk = masks[first : first + lanes]
        code = np.zeros(len(group), dtype=np.uint8)
        for j, mask in enumerate(chunk):
            code |= np.asarray(mask, dtype=bool).view(np.uint8) << np.uint8(j)
        # lane_value[c]: the sum of 2**(k j) over the bits j set in code c.
        bit = (np.arange(1 << len(chunk))[:, None] >> np.arange(len(chunk))) & 1
        lane_value = (bit << (k * np.arange(len(chunk)))).sum(axis=1)
        packed = lane_value.astype(np.float64)[code]
        packed *= weight
        got = _sum(group, n_groups, packed).astype(np.int64)
        low = (1 << k) - 1
        sums.extend(
            ((got >> (k * j)) & low).astype(np.float64) for j in range(len(chunk))
        )
    return total, sums


def _sum(
    group: NDArray[np.int64], n_groups: int, weight: NDArray[np.float64]
) -> NDArray[np.float64]:
    return np.bincount(group, weights=weight, minlength=n_groups).astype(np.float64)


def _lanes(
    total: NDArray[np.float64], weight: NDArray[np.float64], n_masks: int
) -> tuple[int, int]:
    """``(lanes, k)``: masks a pass sums and the bits of a lane; ``lanes < 2``: none.

    ``k`` bits hold every group's total weight; every weight must be a whole number
    ``>= 0`` (else no lanes).
    """
    if n_masks < 2 or len(weight) == 0:
        return 0, 0
    with np.errstate(invalid="ignore"):
        whole = bool(np.all(weight >= 0)) and bool(np.all(np.floor(weight) == weight))
    most = float(total.max(initial=0.0))
    if not whole or not most < 2.0**_EXACT_BITS:
        return 0, 0
    k = max(1, int(most).bit_length())  # every total < 2**k
    return min(MOST_LANES, n_masks, _EXACT_BITS // k), k
