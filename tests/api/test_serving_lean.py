"""Serving the country within 1 GB a worker and a 5 s start: what each change keeps.

- the cell table read as before (every value, every narrowed column by the plain rule:
  int32 where the column is never negative and totals below 2**31), and the memory the
  read freed handed back by Arrow's pool as well as glibc's (``trim_heap``);
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import api.cellcheck
from api.results import read_cells, trim_heap
from geodx.contract_names import CELLS_FILE
from tests.api.conftest import write_results


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_results(tmp_path_factory.mktemp("lean") / "out")


def _naive_cells(path: Path) -> pd.DataFrame:
    """The cell table by the plain rule: read, then int32 where no sum can overflow."""
    table = pd.read_parquet(path)
    for col in table.columns:
        values = table[col]
        wide = values.dtype == np.int64 and len(values) > 0
        if wide and values.min() >= 0 and int(values.sum()) < 2**31 - 1:
            table[col] = values.astype(np.int32)
    return table


def test_cell_table_is_read_as_before(results: Path) -> None:
    path = results / CELLS_FILE
    got, want = read_cells(path), _naive_cells(path)
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        assert got[col].dtype == want[col].dtype, col
        assert got[col].tolist() == want[col].tolist(), col


class _Pool:
    def __init__(self) -> None:
        self.released = 0

    def release_unused(self) -> None:
        self.released += 1


def test_arrow_pool_is_trimmed_after_narrowing(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wide columns narrowing replaced go back once the table is narrow."""
    pool = _Pool()
    order: list[str] = []
    narrow = api.cellcheck.narrow_counts

    def spy_narrow(cells: pd.DataFrame) -> pd.DataFrame:
        order.append(f"narrow after {pool.released} releases")
        return narrow(cells)

    monkeypatch.setattr(pa, "default_memory_pool", lambda: pool)
    monkeypatch.setattr("api.results.narrow_counts", spy_narrow)
    read_cells(results / CELLS_FILE)
    assert order == ["narrow after 0 releases"]
    assert pool.released == 1  # once, after narrowing
    trim_heap()
    assert pool.released == 2


def test_trim_heap_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Elsewhere than glibc, Arrow's pool is still trimmed and nothing fails."""
    pool = _Pool()

    def no_libc(name: str) -> Any:
        raise OSError(name)

    monkeypatch.setattr(pa, "default_memory_pool", lambda: pool)
    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    trim_heap()
    assert pool.released == 1
