"""The pyramid's H3 bit arithmetic equals the h3 library, and both roll-ups agree.

Integer counts of canonical cell strings are rolled up level from level with parents
found from the index bits; anything else (float counts, upper-case strings) is grouped
by pandas with ``h3.cell_to_parent``. Both must give the same tables.
"""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from geodx.partition import parent_cells
from geodx.pyramid import (
    h3_ints,
    h3_strings,
    pyramid_levels,
    roll_up_levels,
)


def _cells(res: int, n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(-80, 80, n)
    lng = rng.uniform(-180, 180, n)
    return [h3.latlng_to_cell(a, b, res) for a, b in zip(lat, lng, strict=True)]


@pytest.mark.parametrize("res", [0, 1, 5, 9, 15])
def test_bits_equal_the_h3_library(res: int) -> None:
    names = _cells(res, 300, res)
    ints = h3_ints(np.asarray(names, dtype=object))
    assert ints is not None
    assert ints.tolist() == [h3.str_to_int(c) for c in names]
    assert h3_strings(ints).tolist() == names
    for parent in range(res + 1):
        want = [h3.str_to_int(h3.cell_to_parent(c, parent)) for c in names]
        assert parent_cells(ints, parent).tolist() == want


def test_strings_that_are_not_canonical_cells_are_left_to_h3() -> None:
    cell = _cells(9, 1, 1)[0]
    for odd in ([cell.upper()], [cell, _cells(8, 1, 1)[0]], [cell + "0"], [cell[:-1]]):
        assert h3_ints(np.asarray(odd, dtype=object)) is None


def _table(seed: int, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat = 12.6 + rng.random(n) * 0.8
    lng = 108.0 + rng.random(n) * 0.8
    cells = [h3.latlng_to_cell(a, b, 9) for a, b in zip(lat, lng, strict=True)]
    households = rng.integers(0, 40, n)
    codes = np.asarray(["001", "002", "003", None], dtype=object)
    frame = pd.DataFrame(
        {
            "h3": cells,
            "commune_code": codes[rng.integers(0, 4, n)],
            "households": households,
            "fibre_households": (households * rng.random(n)).astype("int64"),
            "layer_a_households": (households * rng.random(n)).astype("int64"),
        }
    )
    frame = frame.drop_duplicates(["h3", "commune_code"])
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("seed", [3, 4])
def test_both_roll_ups_give_the_same_levels(seed: int) -> None:
    cells = _table(seed)
    by_bits = roll_up_levels(cells)
    upper = cells.assign(h3=cells["h3"].str.upper())  # forces the h3 library's path
    by_name = roll_up_levels(upper)
    assert list(by_bits) == list(by_name) == pyramid_levels(9)
    for res, level in by_bits.items():
        other = by_name[res].assign(h3=by_name[res]["h3"].str.lower())
        pd.testing.assert_frame_equal(level, other)
        assert level["h3"].tolist() == sorted(level["h3"])
        assert level["households"].sum() == cells["households"].sum()
    # Float counts take pandas' sums; the same cells, rows and integers here.
    floats = roll_up_levels(cells.astype({"households": float}))
    for res, level in by_bits.items():
        assert floats[res]["h3"].tolist() == level["h3"].tolist()
        assert floats[res]["households"].tolist() == level["households"].tolist()
        assert floats[res]["communes"].tolist() == level["communes"].tolist()
