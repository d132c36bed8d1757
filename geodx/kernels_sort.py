"""A stable argsort of integer keys by one sort of unique 64-bit words.

``np.argsort(key, kind="stable")`` of int64 keys is a timsort: 15 ms for half a
million household points' grid cells, where ``np.sort`` of as many uint64 words (a
vectorised sort) takes 3 ms. When the keys' range (largest minus smallest) and a
point's index fit together in 64 bits, each key is packed with its index below it
into one word: the words are then distinct, so any sort orders them one way only,
and that way is the stable order of the keys (ties broken by index). Keys of 16 bits
or fewer (after the smallest is taken off) take numpy's radix sort instead, and keys
already in a few long sorted runs numpy's timsort. Either way the order is the
stable argsort's, to the element.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Keys with fewer descents than one in this many go to timsort (0.4 ms for half a
#: million keys in a few runs, against 4 ms).
RUNS_FROM = 32


def stable_argsort(key: NDArray[Any]) -> NDArray[np.int64]:
    """Return ``np.argsort(key, kind="stable")`` of a 1-d array, as int64.

    Parameters
    ----------
    key : ndarray, one dimension
        Integers take the fast ways; other keys are sorted by ``np.argsort``.

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> stable_argsort(np.array([5, -3, 5, 1, -3])).tolist()
    [1, 4, 3, 0, 2]
    >>> stable_argsort(np.array([2**63, 7, 2**63, 0], dtype=np.uint64)).tolist()
    [3, 1, 0, 2]
    """
    key = np.asarray(key)
    if key.ndim != 1:
        raise ValueError(f"key was of shape {key.shape}; expected one dimension")
    n = len(key)
    if key.dtype.kind not in "iu" or n < 2:  # other keys: numpy's own stable sort
        return np.argsort(key, kind="stable").astype(np.int64, copy=False)
    if np.count_nonzero(key[1:] < key[:-1]) * RUNS_FROM < n:
        # Long sorted runs (a raster's blocks of households in H3 order): timsort
        # merges them faster than any sort from scratch.
        return np.argsort(key, kind="stable").astype(np.int64, copy=False)
    low, high = int(key.min()), int(key.max())
    width = (high - low).bit_length()
    if width <= 16:  # numpy's stable sort of 16-bit keys is a radix sort
        small = np.subtract(key, key.dtype.type(low)).astype(np.uint16)
        return np.argsort(small, kind="stable").astype(np.int64)
    index_bits = (n - 1).bit_length()
    if width + index_bits > 64:
        return np.argsort(key, kind="stable").astype(np.int64, copy=False)
    # key - low in [0, 2**width): exact in uint64's wrapping arithmetic.
    packed = key.astype(np.uint64) - np.uint64(low % 2**64)
    packed <<= np.uint64(index_bits)
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    packed &= np.uint64((1 << index_bits) - 1)
    return packed.view(np.int64)
