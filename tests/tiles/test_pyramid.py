"""The H3 pyramid a run writes equals the contract's roll-up, recomputed naively."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest

from geodx.contract_cells import (
    pyramid_file,
    roll_up,
)
from geodx.pyramid import pyramid_levels, read_level, write_pyramid


def _cells(seed: int, n: int = 400, res: int = 9) -> pd.DataFrame:
    """A cells.parquet-like table: several communes per cell, some unassigned."""
    rng = np.random.default_rng(seed)
    lat = 12.6 + rng.random(n) * 0.6
    lng = 108.0 + rng.random(n) * 0.6
    hexes = [h3.latlng_to_cell(a, b, res) for a, b in zip(lat, lng, strict=True)]
    households = rng.integers(0, 30, n)
    fibre = (households * rng.random(n)).astype("int64")
    mobile = (households * rng.random(n)).astype("int64")
    mobile_5g = np.minimum(mobile, (households * rng.random(n)).astype("int64"))
    codes = np.asarray(["001", "002", "003", None], dtype=object)[rng.integers(0, 4, n)]
    frame = pd.DataFrame(
        {
            "h3": hexes,
            "commune_code": codes,
            "households": households,
            "fibre_households": fibre,
            "mobile_households": mobile,
            "mobile_5g_households": mobile_5g,
        }
    )
    return frame.drop_duplicates(["h3", "commune_code"]).reset_index(drop=True)


def _naive(cells: pd.DataFrame, res: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in cells.to_dict("records"):
        parent = h3.cell_to_parent(row["h3"], res)
        acc = out.setdefault(parent, {"communes": set(), "households": 0,
                                      "fibre_households": 0, "mobile_households": 0,
                                      "mobile_5g_households": 0})  # fmt: skip
        if not pd.isna(row["commune_code"]):
            acc["communes"].add(row["commune_code"])
        for col in ("households", "fibre_households", "mobile_households",
                    "mobile_5g_households"):  # fmt: skip
            acc[col] += row[col]
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_every_level_equals_the_naive_roll_up(tmp_path: Path, seed: int) -> None:
    cells = _cells(seed)
    assert write_pyramid(tmp_path, cells) == [5, 6, 7, 8, 9]
    for res in pyramid_levels(9):
        assert (tmp_path / pyramid_file(res)).is_file()
        level = read_level(tmp_path, res)
        assert level is not None
        expected = _naive(cells, res)
        assert sorted(level["h3"]) == sorted(expected)
        assert set(level["resolution"]) == {res}
        for row in level.to_dict("records"):
            want = expected[row["h3"]]
            assert row["communes"] == len(want["communes"])
            for col in ("households", "fibre_households", "mobile_households",
                        "mobile_5g_households"):  # fmt: skip
                assert row[col] == want[col]
            for ind in ("fibre", "mobile", "mobile_5g"):
                hh = want["households"]
                share = row[f"{ind}_pct"]
                if hh == 0:
                    assert np.isnan(share)
                else:
                    part = want[f"{ind}_households"]
                    assert share == pytest.approx(100 * part / hh, abs=1e-4)


def test_coarse_regions_have_one_level(tmp_path: Path) -> None:
    cells = _cells(3, n=50, res=4)
    assert write_pyramid(tmp_path, cells) == [4]
    assert read_level(tmp_path, 5) is None


def test_an_empty_table_writes_no_level(tmp_path: Path) -> None:
    assert write_pyramid(tmp_path, _cells(4).iloc[:0]) == []


def test_every_level_is_the_contracts_roll_up(tmp_path: Path) -> None:
    cells = _cells(5).assign(layer_x_households=lambda f: f["fibre_households"] // 2)
    write_pyramid(tmp_path, cells)
    for res in pyramid_levels(9):
        want = roll_up(cells, res, 9)
        pct = [c for c in want.columns if c.endswith("_pct")]
        want = want.astype(dict.fromkeys(pct, "float64"))
        got = read_level(tmp_path, res)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
