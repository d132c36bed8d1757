"""The pyramid a run writes from its H3 integers equals the one read from the names.

``write_pyramid_of_ints`` rolls the cell table up from the rows' cell integers and
commune labels; ``write_pyramid`` (the contract's table in pandas) parses the names.
Every level file must hold the same table, for rows in cell order (a run's) or not,
labels of any numbering, and float counts (which go through pandas).
"""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from geodx.pyramid import pyramid_levels, write_pyramid, write_pyramid_of_ints


def _table(seed: int, n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat = 12.6 + rng.random(n) * 0.6
    lng = 108.0 + rng.random(n) * 0.6
    households = rng.integers(0, 40, n)
    codes = np.asarray(["001", "002", "003", "010", None], dtype=object)
    frame = pd.DataFrame(
        {
            "h3": [h3.latlng_to_cell(a, b, 9) for a, b in zip(lat, lng, strict=True)],
            "commune_code": codes[rng.integers(0, 5, n)],
            "households": households,
            "fibre_households": (households * rng.random(n)).astype("int64"),
            "layer_a_households": (households * rng.random(n)).astype("int64"),
        }
    )
    return frame.drop_duplicates(["h3", "commune_code"]).reset_index(drop=True)


COUNTS = ("households", "fibre_households", "layer_a_households")


def _naive(frame: pd.DataFrame, res: int) -> dict[str, dict[str, object]]:
    """The roll-up rule written again: each row under its parent, row by row."""
    out: dict[str, dict[str, object]] = {}
    for row in frame.to_dict("records"):
        acc = out.setdefault(h3.cell_to_parent(row["h3"], res), {"codes": set()})
        if not pd.isna(row["commune_code"]):
            acc["codes"].add(row["commune_code"])  # type: ignore[attr-defined]
        for col in COUNTS:
            acc[col] = acc.get(col, 0) + row[col]
    return out


def _written(folder: Path) -> dict[str, pa.Table]:
    return {p.name: pq.read_table(p) for p in sorted(folder.glob("pyramid/*"))}


@pytest.mark.parametrize(("seed", "in_cell_order"), [(5, True), (6, False)])
@pytest.mark.parametrize("counts", ["int64", "float64"])
def test_the_same_level_files(
    tmp_path: Path, seed: int, in_cell_order: bool, counts: str
) -> None:
    frame = _table(seed)
    if in_cell_order:
        frame = frame.sort_values(["h3", "commune_code"]).reset_index(drop=True)
    else:
        frame = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    frame = frame.astype({"households": counts})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    cells = np.asarray([h3.str_to_int(c) for c in frame["h3"]], dtype=np.uint64)
    # Labels numbered otherwise than the names' first appearance; -1 for none.
    order = {"010": 0, "003": 1, "001": 2, "002": 3}
    codes = frame["commune_code"]
    labels = np.asarray([-1 if pd.isna(c) else order[c] for c in codes], np.int64)
    (tmp_path / "names").mkdir()
    (tmp_path / "ints").mkdir()
    assert write_pyramid(tmp_path / "names", frame) == sorted(pyramid_levels(9))
    got = write_pyramid_of_ints(tmp_path / "ints", table, cells, labels)
    assert got == sorted(pyramid_levels(9))
    want = _written(tmp_path / "names")
    assert list(want) == [f"cells_r{r}.parquet" for r in range(5, 10)]
    for res in pyramid_levels(9):
        level = pq.read_table(tmp_path / "ints" / "pyramid" / f"cells_r{res}.parquet")
        rows = level.to_pylist()
        expected = _naive(frame, res)
        assert [r["h3"] for r in rows] == sorted(expected)
        for r in rows:
            acc = expected[r["h3"]]
            assert r["resolution"] == res
            assert r["communes"] == len(acc["codes"])  # type: ignore[arg-type]
            assert all(r[col] == acc[col] for col in COUNTS), r["h3"]
    for name, level in _written(tmp_path / "ints").items():
        assert level.equals(want[name], check_metadata=True), name
        assert (tmp_path / "ints" / "pyramid" / name).read_bytes() == (
            tmp_path / "names" / "pyramid" / name
        ).read_bytes()


def test_no_rows_no_levels(tmp_path: Path) -> None:
    table = pa.Table.from_pandas(_table(7).iloc[:0], preserve_index=False)
    empty = np.zeros(0, dtype=np.uint64)
    assert write_pyramid_of_ints(tmp_path, table, empty, empty.astype(np.int64)) == []
