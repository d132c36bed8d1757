"""Serving the country within 1 GB a worker and a 5 s start: what each change keeps.

- the cell table read as before (every value, every narrowed column by the plain rule:
  int32 where the column is never negative and totals below 2**31), and the memory the
  read freed handed back by Arrow's pool as well as glibc's (``trim_heap``);
- ``geodx serve``'s workers are spawned as ``app.services``, not as the geodx script
  (the whole CLI again), and the main module's spec is given back afterwards;
"""

from __future__ import annotations

import ctypes
import multiprocessing.spawn
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import api.cellcheck
from api.results import read_cells, trim_heap
from app.serve import WORKER_MAIN, serve_snapshot, spawned_main
from geodx.contract_names import CELLS_FILE
from geodx.outdir_snapshot import snapshot
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


def _prepared() -> dict[str, Any]:
    """What ``multiprocessing`` hands a spawned child to run before its target."""
    data: dict[str, Any] = multiprocessing.spawn.get_preparation_data("worker")
    return data


def test_spawned_main_names_the_module_then_gives_the_spec_back() -> None:
    main = sys.modules["__main__"]
    before = getattr(main, "__spec__", None)
    with spawned_main("app.services"):
        got = _prepared()
        assert got["init_main_from_name"] == "app.services"
        assert "init_main_from_path" not in got  # the script is not run again
    assert getattr(main, "__spec__", None) is before


def test_serve_spawns_workers_as_the_services_module(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    for name in ("GEODX_RESULTS_DIR", "GEODX_RESULTS_VERSION", "GEODX_REGION"):
        monkeypatch.setenv(name, "recorded, so that the test's value is undone")
    seen: dict[str, Any] = {}

    def run(app: str, **options: Any) -> None:
        seen.update(app=app, workers=options["workers"], main=_prepared())

    monkeypatch.setattr(uvicorn, "run", run)
    serve_snapshot(snapshot(results), host="127.0.0.1", port=8123, workers=2)
    assert seen["app"] == f"{WORKER_MAIN}:served_app" and seen["workers"] == 2
    assert seen["main"]["init_main_from_name"] == WORKER_MAIN
