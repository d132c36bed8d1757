"""``--engine dask`` without a scheduler: its own LocalCluster (forked workers), tasks
handed out largest first, results merged in parent-cell order."""

from __future__ import annotations

import gc
import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.dask_engine import run_largest_first, run_task
from app.local_pool import largest_first
from app.partition_region import RegionFacts, forget_region, region_frozen
from app.partition_task import PartitionTask
from tests.engine.test_engines import assert_same, layer_files, run, split_communes
from tests.oracle.worlds import build_mixed


def test_own_local_cluster_writes_what_local_writes(tmp_path: Path) -> None:
    """The LocalCluster the run starts itself (no --scheduler), partitions at res 6.

    The local run before it leaves this process its layer threads: the forked workers
    make their own (they would wait forever on the parent's)."""
    (tmp_path / "world").mkdir()
    world = build_mixed(tmp_path / "world")
    local = run(
        world.manifest, tmp_path / "local", "local", partition={"resolution": 6}
    )
    dask = run(world.manifest, tmp_path / "dask", "dask", partition={"resolution": 6})
    assert_same(local, dask)
    assert split_communes(dask["cells.parquet"], 6)
    # The map layers, drawn beside the partitions in this process, are the local run's.
    drawn = layer_files(tmp_path / "dask")
    assert "layers/index.json" in drawn and len(drawn) > 3
    assert layer_files(tmp_path / "local") == drawn


@dataclass
class _Future:
    value: Any


class _Client:
    """Records what is submitted, with which priority; runs nothing remotely."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, int]] = []

    def submit(self, fn: Any, task: Any, *, pure: bool, priority: int) -> _Future:
        assert pure is False
        assert fn is run_task
        self.submitted.append((task.path, priority))
        return _Future(f"result of {task.path}")

    def gather(self, futures: list[_Future]) -> list[Any]:
        return [f.value for f in futures]


def test_largest_partition_first_results_in_parent_order(tmp_path: Path) -> None:
    sizes = [300, 1000, 20, 1000, 640]
    tasks = []
    for parent, size in enumerate(sizes):
        path = tmp_path / f"part-{parent}.bin"
        path.write_bytes(b"\0" * size)
        tasks.append(PartitionTask(facts=None, parent=parent, path=str(path)))  # type: ignore[arg-type]
    client = _Client()
    got = run_largest_first(client, tasks)
    assert got == [f"result of {t.path}" for t in tasks]  # parent order
    # Brute force: the scheduler runs the highest priority first.
    by_priority = [p for p, _ in sorted(client.submitted, key=lambda s: -s[1])]
    expected = sorted(
        (t.path for t in tasks), key=lambda p: (-Path(p).stat().st_size, p)
    )
    assert by_priority == expected
    assert len({prio for _, prio in client.submitted}) == len(tasks)


@pytest.mark.parametrize(
    ("sizes", "order"),
    [([], []), ([5], [0]), ([1, 2, 3], [2, 1, 0]), ([2, 2, 1, 2], [0, 1, 3, 2])],
)
def test_largest_first(sizes: list[int], order: list[int]) -> None:
    assert largest_first(sizes) == order


def _pools_in_child() -> tuple[int, int]:
    from app import partition_task
    from layers import vector

    return len(partition_task._POOLS), len(vector._HALVES)


def test_a_forked_process_forgets_the_parents_thread_pools() -> None:
    import multiprocessing
    from concurrent.futures import ThreadPoolExecutor

    import app.dask_engine  # noqa: F401  (registers the fork handler)
    from app import partition_task
    from layers import vector

    partition_task.layer_pool(2).submit(int).result()
    if not vector._HALVES:
        vector._HALVES.append(ThreadPoolExecutor(1))
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_pools_in_child) == (0, 0)
    assert partition_task._POOLS and vector._HALVES  # the parent keeps its own


def test_a_workers_region_is_frozen_once_and_handed_back_when_replaced(
    tmp_path: Path,
) -> None:
    """A Dask worker's region is left out of the collector's walks (``gc.freeze``);
    the next task of the same region freezes nothing more, and a region that
    replaces it lets the old one go (it is not kept alive by the freeze)."""
    from app.pipeline import metric_crs
    from geodx.crs import reproject
    from geodx.io import read_communes
    from geodx.limits import DEFAULT_LIMITS
    from geodx.manifest import load_manifest
    from geodx.points import WGS84

    (tmp_path / "world").mkdir()
    world = build_mixed(tmp_path / "world")
    manifest = load_manifest(world.manifest)
    communes = read_communes(manifest.communes, limits=DEFAULT_LIMITS)
    geoms = reproject(communes.geometry.to_numpy(), communes.crs, WGS84)
    facts = RegionFacts(
        str(manifest.path.resolve()), WGS84, (107.0, 11.0, 109.5, 13.5), True,
        DEFAULT_LIMITS, metric_crs(geoms),
    )  # fmt: skip
    forget_region()
    try:
        region = region_frozen(facts)
        tracked = {id(o) for o in gc.get_objects()}
        assert id(region.layers) not in tracked  # frozen: no collection walks it
        count = gc.get_freeze_count()
        assert count > 0
        assert region_frozen(facts) is region
        assert gc.get_freeze_count() == count  # the same region: nothing frozen again
        old = weakref.ref(region)
        del region
        for path in (tmp_path / "world").iterdir():  # the inputs changed: read again
            stat = path.stat()
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        again = region_frozen(facts)
        assert old() is None  # the old region went with the cache, frozen or not
        assert id(again.layers) not in {id(o) for o in gc.get_objects()}
    finally:
        forget_region()
        gc.unfreeze()


def _profiled(dask_worker: Any) -> tuple[bool, bool]:
    monitor = dask_worker.monitor
    return "profile" in dask_worker.periodic_callbacks, bool(monitor.monitor_disk_io)


def test_the_local_clusters_workers_run_no_profiler_and_no_disk_counters() -> None:
    """Nothing of the run reads the dashboard's profiles or the host's disk counters:
    the LocalCluster's workers do not sample every thread's stack every 10 ms."""
    from app.dask_engine import DaskEngine

    with DaskEngine(workers=2) as engine:
        got = engine.client.run(_profiled)
    assert len(got) == 2
    assert set(got.values()) == {(False, False)}
