"""The cell table's checks at load: H3 ids by their bits, counts held narrow.

Both run once per worker over the national 1.2M rows, so both are vectorised; every
answer is the one H3 (:func:`api.cells.cells_are_valid`) or the int64 column gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from api.cells import cells_are_valid, count_columns

__all__ = [
    "PLAIN_ID",
    "arrow_column",
    "id_bytes",
    "is_text",
    "narrow_counts",
    "valid_cells",
]

#: A plain H3 id: 15 lower-case hex digits (its 15 bytes decode to the very string).
PLAIN_ID = "^[0-9a-f]{15}$"

_PENTAGON_BASES = np.asarray([4, 14, 24, 38, 49, 58, 63, 72, 83, 97, 107, 117])
_HEX = np.full(256, 255, dtype=np.uint8)
_HEX[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_HEX[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)


def _plain_cells(codes: np.ndarray) -> np.ndarray:
    """Which ``S15`` ids are H3 cells by their bits alone (pentagons left out).

    H3's own rule for a cell: top bit 0, mode 1, reserved bits 0, base cell below 122,
    digits 0-6 down to the resolution and 7 past it (pentagons add one more rule).
    """
    nibbles = _HEX[codes.view(np.uint8).reshape(-1, 15)]
    ok = (nibbles != 255).all(axis=1)
    value = np.zeros(len(codes), dtype=np.uint64)
    for i in range(15):
        value = (value << np.uint64(4)) | nibbles[:, i].astype(np.uint64)
    top = value >> np.uint64(52)  # reserved bit, mode, reserved bits, resolution
    ok &= ((top >> np.uint64(4)) == 0b0001000) & ~np.isin(
        (value >> np.uint64(45)) & np.uint64(0x7F), _PENTAGON_BASES
    )
    ok &= ((value >> np.uint64(45)) & np.uint64(0x7F)) < 122
    digits = value & np.uint64(2**45 - 1)
    tail = np.uint64(3) * (np.uint64(15) - (top & np.uint64(0xF)))  # bits past res
    ones = (np.uint64(1) << tail) - np.uint64(1)
    seven = digits & (digits >> np.uint64(1)) & (digits >> np.uint64(2))
    seven &= np.uint64(sum(1 << (3 * k) for k in range(15)))  # a digit's three bits
    ok &= ((digits & ones) == ones) & ((seven >> tail) == 0)
    return np.asarray(ok, dtype=bool)


def arrow_column(column: Any) -> pa.Array:
    """A pandas or Arrow column as one Arrow array (an arrow-backed column: no copy)."""
    found = (
        column
        if isinstance(column, pa.Array | pa.ChunkedArray)
        else pa.array(column, from_pandas=True)
    )
    return found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found


def is_text(arr: pa.Array) -> bool:
    """Whether an Arrow array holds strings."""
    return bool(pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type))


def id_bytes(arr: pa.Array) -> NDArray[np.bytes_]:
    """A string array of 15-byte values as ``S15`` ids: a view of Arrow's buffer.

    >>> id_bytes(pa.array(["89283082803ffff", "89283082807ffff"])[1:]).tolist()
    [b'89283082807ffff']
    """
    fixed = pc.cast(arr, pa.binary(15))
    ids: NDArray[np.bytes_] = np.frombuffer(
        fixed.buffers()[1], dtype="S15", count=len(fixed), offset=fixed.offset * 15
    )
    return ids


def valid_cells(cells: pd.Series) -> bool:
    """:func:`api.cells.cells_are_valid`, the plain ids checked by their bits at once.

    The others (pentagons, other spellings, anything the bits refuse) go through H3
    one by one, so the answer is H3's.
    """
    arr = arrow_column(cells)
    if not is_text(arr):
        return cells_are_valid(cells)
    plain = pc.fill_null(pc.match_substring_regex(arr, PLAIN_ID), False)
    codes = id_bytes(arr.filter(plain))
    fast = np.zeros(len(arr), dtype=bool)
    fast[plain.to_numpy(zero_copy_only=False)] = _plain_cells(codes)
    if fast.all():
        return True
    rest = cells.to_numpy(dtype=object)[~fast]
    return cells_are_valid(pd.Series(rest, dtype=object))


def narrow_counts(cells: pd.DataFrame) -> pd.DataFrame:
    """Integer counts held as int32 when no sum of them can pass it (same values).

    A count column that is never negative and totals below 2**31 cannot overflow in
    any sum of its rows; every sum of the tables comes out as int64 anyway
    (:func:`geodx.contract_cells.cell_totals`). The national table: 157 MB less a worker.
    """
    narrow = {}
    for col in count_columns(cells):
        values = cells[col]
        if values.dtype != np.int64 or not len(values):
            continue
        if values.min() >= 0 and int(values.sum()) < 2**31 - 1:
            narrow[col] = values.astype(np.int32)
    return cells.assign(**narrow) if narrow else cells
