"""The (cell, commune) rows of a partition: one sort of one key, or two sorts, same rows.

The rule (docs/scale.md, "Partitions"): rows sorted by H3 cell, then commune (``-1``:
outside every commune), each household in its row. Written again here naively with
Python tuples.
"""

from __future__ import annotations

import h3
import numpy as np
import pytest

from geodx.partition import _rows


def naive(
    cells: list[int], communes: list[int]
) -> tuple[list[int], list[int], list[int]]:
    rows = sorted(set(zip(cells, communes, strict=True)))
    where = {row: i for i, row in enumerate(rows)}
    return (
        [c for c, _ in rows],
        [k for _, k in rows],
        [where[row] for row in zip(cells, communes, strict=True)],
    )


def _cells(rng: np.random.Generator, n: int, resolutions: list[int]) -> list[int]:
    lat = 12 + rng.random(n) * 0.05
    lng = 108 + rng.random(n) * 0.05
    res = rng.choice(resolutions, n)
    return [
        int(h3.latlng_to_cell(a, b, int(r)), 16)
        for a, b, r in zip(lat, lng, res, strict=True)
    ]


@pytest.mark.parametrize(
    ("resolutions", "n_communes"),
    [([9], 7), ([15], 7), ([14], 7), ([14], 8), ([9], 300_000), ([8, 9], 7)],
)
def test_rows_are_the_rule(resolutions: list[int], n_communes: int) -> None:
    # 14: three spare bits hold a commune plus one up to 7 (7 communes: yes, 8: no);
    # 15: no spare bits; mixed resolutions and too many communes: the two sorts.
    rng = np.random.default_rng(len(resolutions) * 100 + n_communes)
    cells = _cells(rng, 3_000, resolutions)
    communes = rng.integers(-1, n_communes, len(cells)).tolist()
    got = _rows(np.array(cells, dtype=np.uint64), np.array(communes), n_communes)
    want = naive(cells, communes)
    assert [g.tolist() for g in got] == [list(w) for w in want]
    assert [g.dtype for g in got] == [np.uint64, np.int64, np.int64]


def test_no_households_no_rows() -> None:
    got = _rows(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), 3)
    assert [len(g) for g in got] == [0, 0, 0]
