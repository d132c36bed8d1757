"""The local engine's partitions two at a time, in forked worker processes.

The same files as the single pass and as one partition after the other; each raster
read by both workers, each from its own handle; a failing partition's own one-line
error; a worker killed, or Ctrl+C in the parent, ends the run with no process left.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
import rasterio
from rasterio.transform import from_origin

from app import engine
from app.local_pool import run_forked
from geodx.errors import GeodxError
from geodx.manifest_specs import LayerSpec
from layers.signal import SignalRaster
from tests.engine.test_engines import assert_same, run, split_communes
from tests.oracle.worlds import build_mixed

_REAL = engine.run_partition
_SEEN = "GEODX_TEST_SEEN"  # a folder each worker marks with its pid


def recorded(task: Any, **kw: Any) -> Any:
    """``run_partition``, marking which process ran it and which rasters it reopened."""
    got = _REAL(task, **kw)
    folder = Path(os.environ[_SEEN])
    rasters = [layer.layer for layer in engine.region_of(task.facts).layers.values()]
    own = [r._pid == os.getpid() for r in rasters if isinstance(r, SignalRaster)]
    (folder / f"{os.getpid()}-{task.parent}").write_text(json.dumps(own))
    return got


def _leftovers(root: Path) -> list[Path]:
    return list(root.rglob("tmp-partitions-*"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The oracle's mixed world (edges, overlaps, holes; two rasters): its manifest."""
    folder = tmp_path_factory.mktemp("world")
    return Path(build_mixed(folder).manifest)


def test_two_workers_write_what_single_and_one_at_a_time_write(
    world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partitions at res 6 (11): communes split, both rasters read in both workers."""
    seen = tmp_path / "seen"
    seen.mkdir()
    monkeypatch.setenv(_SEEN, str(seen))
    monkeypatch.setattr(engine, "run_partition", recorded)
    single = run(world, tmp_path / "single", "single")
    part = {"resolution": 6}
    one = run(world, tmp_path / "one", "local", partition={**part, "workers": 1})
    marks = {p.name for p in seen.iterdir()}
    assert {m.split("-")[0] for m in marks} == {str(os.getpid())}
    for mark in marks:
        (seen / mark).unlink()
    two = run(world, tmp_path / "two", "local", partition={**part, "workers": 2})
    assert_same(single, one)
    assert_same(one, two)
    assert split_communes(two["cells.parquet"], 6)
    pids = {p.name.split("-")[0] for p in seen.iterdir()}
    assert len(pids) == 2 and str(os.getpid()) not in pids  # both children ran some
    read: dict[str, list[bool]] = {}  # per child, per raster: read from its own handle
    for mark in seen.iterdir():
        got = json.loads(mark.read_text())  # (a partition off a raster reads none)
        was = read.get(mark.name.split("-")[0], [False] * len(got))
        read[mark.name.split("-")[0]] = [a or b for a, b in zip(was, got, strict=True)]
    assert list(read.values()) == [[True, True], [True, True]]
    assert not multiprocessing.active_children()
    assert not _leftovers(tmp_path)


def _write_raster(path: Path, size: int) -> None:
    """An RSRP raster whose pixel (row, col) holds ``_value(row, col)``."""
    rows, cols = np.mgrid[0:size, 0:size]
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 1,
        "dtype": "int16", "crs": "EPSG:32648", "tiled": True,
        "blockxsize": 64, "blockysize": 64,
        "transform": from_origin(500_000, 1_400_000, 10, 10),
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(_value(rows, cols).astype(np.int16), 1)


def _value(row: Any, col: Any) -> Any:
    return -140 + (row * 7 + col * 3) % 97


def _read_half(raster: SignalRaster, half: int, size: int, out: Any) -> None:
    """In a child: every pixel of rows of one half, column by column strips."""
    rows, cols = np.mgrid[half * size // 2 : (half + 1) * size // 2, 0:size]
    rows, cols = rows.ravel().astype(np.int64), cols.ravel().astype(np.int64)
    try:
        got = raster.values_at(rows, cols)
    except Exception:  # noqa: BLE001 - a read gone wrong: answered as wrong pixels
        out.put(False)
        return
    out.put(bool(np.array_equal(got, _value(rows, cols).astype(np.float64))))


def test_two_processes_read_different_windows_of_one_raster_at_once(
    tmp_path: Path,
) -> None:
    """Opened in the parent (and read there), read at once by two forked children."""
    size = 1024
    path = tmp_path / "rsrp.tif"
    _write_raster(path, size)
    spec = LayerSpec(id="r", kind="4g", operator="X", path=path, min_rsrp_dbm=-100)
    raster = SignalRaster.open(spec)
    first = raster.values_at(np.array([5], np.int64), np.array([9], np.int64))
    assert first.tolist() == [_value(5, 9)]
    ctx = multiprocessing.get_context("fork")
    for _ in range(3):
        out = ctx.Queue()
        procs = [
            ctx.Process(target=_read_half, args=(raster, h, size, out)) for h in (0, 1)
        ]
        for proc in procs:
            proc.start()
        answers = [out.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join(10)
        assert answers == [True, True]
    assert raster._pid == os.getpid()  # the parent's handle is still its own
    raster.close()


def _fails_from(task: int) -> int:
    if task >= 2:
        raise GeodxError(f"partition {task}: a bad raster block")
    time.sleep(0.2 * (5 - task))  # the failing ones end first
    return task


def test_the_first_failing_partition_in_order_is_the_error() -> None:
    with pytest.raises(GeodxError, match=r"^partition 2: a bad raster block$"):
        run_forked(_fails_from, [0, 1, 2, 3, 4], [1, 1, 1, 1, 9], workers=2)
    assert not multiprocessing.active_children()


def _killed(task: int) -> int:
    if task == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return task


def test_a_killed_worker_is_one_line() -> None:
    with pytest.raises(GeodxError) as got:
        run_forked(_killed, [0, 1, 2], [3, 2, 1], workers=2)
    assert str(got.value).startswith("a partition worker process was killed by SIGKILL")
    assert "\n" not in str(got.value)
    assert not multiprocessing.active_children()


def _sleeps(task: int) -> int:
    time.sleep(60)
    return task


def test_ctrl_c_stops_the_workers() -> None:
    """KeyboardInterrupt in the parent while both workers run: both are ended."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    forked: list[int] = []

    def interrupt() -> None:
        forked.extend(p.pid for p in me.children() if p.pid not in before)
        raise KeyboardInterrupt

    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        run_forked(_sleeps, [0, 1, 2], [1, 1, 1], workers=2, started=interrupt)
    assert time.perf_counter() - start < 20
    assert len(forked) == 2
    assert not any(psutil.pid_exists(pid) and _alive(pid) for pid in forked)
    assert not multiprocessing.active_children()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_an_error_in_a_worker_is_the_one_line_of_one_at_a_time(
    world: Path, tmp_path: Path
) -> None:
    """A raster holding no RSRP: each partition refuses it; the run says what the
    first partition in order says, from the workers as from one at a time, and leaves
    no worker and no partition files behind."""
    import shutil

    from app.pipeline import run_region
    from geodx.errors import InputFileError

    region = tmp_path / "region"
    shutil.copytree(world.parent, region)
    raster = region / "viettel_4g.tif"
    with rasterio.open(raster, "r+") as dst:
        dst.write(dst.read(1) + 500, 1)  # valid pixels far above -31 dBm
    errors = []
    for workers in (1, 2):
        with pytest.raises(InputFileError) as got:
            run_region(
                region / world.name, tmp_path / f"out{workers}",
                partition={"resolution": 6, "workers": workers},
            )  # fmt: skip
        errors.append(str(got.value))
    assert errors[0] == errors[1]
    assert "is not RSRP in dBm" in errors[0] and "\n" not in errors[0]
    assert not multiprocessing.active_children()
    assert not _leftovers(tmp_path)
