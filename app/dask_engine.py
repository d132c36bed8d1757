"""``geodx run --engine dask``: the partitions as ``dask.distributed`` tasks.

Each task is a :class:`app.partition_task.PartitionTask` (the manifest's path, a partition
file's path, its parent cell and the region's facts): a worker reads the manifest,
communes and layers itself (once per worker process) and its partition's households,
and returns the partition's sums and plan rows. Every path must be visible to every
worker: on other machines, the region and the output folder's parent (where the
partition files go) sit on shared storage mounted at the same path.

Without ``scheduler``, a ``LocalCluster`` with one single-threaded worker process per
core runs the tasks on this machine (it listens on 127.0.0.1 only, its dashboard on a
free port). Where its time went, and what was cut (``python -m bench.partitions``):

- its workers are forked from this process (``multiprocessing`` ``fork``), which has
  geodx imported already, instead of spawned: a spawned worker imports Python,
  distributed, then geopandas, pyarrow, shapely, pyproj and the layers on its first
  task, and a spawned cluster takes seconds to close (2 workers, load average 7:
  spawned 3.9 s to start, 4.7 s to import geodx, 1.7 s to close; forked 0.6, 0.0 and
  0.1 s). The fork happens when
  :class:`DaskEngine` opens, once the communes are read and before the households are
  split: no other thread of this process is then inside GDAL, pyarrow or numpy, and
  no file is open that a worker would share (a raster's file offset), so each worker
  opens its own;
- the tasks are submitted largest partition first (the last to finish is a small
  one), their results put back in parent-cell order before they are merged (the
  merge order decides the bits of fractional sums), and each task answers its layers
  on two threads (``RegionFacts.threads``), so the last task running uses the core the
  idle worker left;
- a worker's region, once read, is left out of the garbage collector's walks
  (:func:`run_task`): each full collection walked its 830,000 objects (national run,
  47 collections in two workers: 9.8 s of CPU; the local engine's forked workers
  freeze what they inherit, 1.1 s).
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

from app.local_pool import file_size, largest_first
from app.partition_region import region_frozen
from app.partition_task import PartitionResult, PartitionTask, run_partition
from geodx.errors import GeodxError
from geodx.heap import tune_heap

#: The LocalCluster's settings (its workers are forked within them). Workers forked, not
#: spawned (see the module's notes); no statistical profiler (it samples every thread's
#: stack every 10 ms for the dashboard's profile page, holding the GIL the task's
#: threads need) and no host-wide disk counters every 500 ms: nothing reads them here.
LOCAL_CLUSTER = {
    "distributed.worker.multiprocessing-method": "fork",
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.disk": False,
}

# A forked worker forgets the parent's layer threads (``app.partition_task._fresh_pools``):
# a process that ran the local engine, then Dask, as the tests do.


class DaskEngine:
    """A Dask client, on ``scheduler`` or on a LocalCluster it starts and closes.

    Opened before the households are split (``app.engine.compute_partitioned``), so
    the cluster is up when the first task is ready.

    Parameters
    ----------
    scheduler : str, optional
        A ``dask.distributed`` scheduler's address (``tcp://host:8786``); a
        ``LocalCluster`` when not given.
    workers : int, optional
        The LocalCluster's worker processes (one per core by default).
    """

    def __init__(self, scheduler: str | None = None, workers: int | None = None):
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise GeodxError(
                "--engine dask needs dask.distributed: pip install 'geodx[dask]'"
            ) from None
        self.cluster: Any = None
        if scheduler is not None:
            self.client: Any = _connect(Client, scheduler)
            return
        n = workers or os.cpu_count() or 1
        with dask.config.set(LOCAL_CLUSTER):
            self.cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            )
        self.client = Client(self.cluster)  # type: ignore[no-untyped-call]

    def run(self, tasks: list[PartitionTask]) -> list[PartitionResult]:
        """Run the tasks (in parent-cell order); results in the order of ``tasks``."""
        return run_largest_first(self.client, tasks)

    def close(self) -> None:
        """Close the client, and the LocalCluster when it started one."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _connect(client: Any, scheduler: str) -> Any:
    try:
        return client(scheduler, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise GeodxError(
            f"cannot reach the Dask scheduler at {scheduler}: {first}"
        ) from None


def run_task(task: PartitionTask) -> PartitionResult:
    """A partition on a Dask worker: :func:`app.partition_task.run_partition`.

    The worker's region is read (on its first task) with its objects left out of
    the collector's walks (``app.partition_region.region_frozen``), its heap set as
    ``geodx run``'s (``geodx.heap.tune_heap``).
    """
    tune_heap()  # a worker not forked from ``geodx run`` (another machine's)
    region_frozen(task.facts)
    return run_partition(task)


def run_largest_first(client: Any, tasks: list[PartitionTask]) -> list[PartitionResult]:
    """Submit the largest partitions first; the results in the order of ``tasks``.

    Each task has its own priority (the scheduler hands out queued tasks highest
    first), so the order holds whatever the order of the tasks' keys.
    """
    order = largest_first([file_size(task.path) for task in tasks])
    futures = [
        client.submit(run_task, tasks[i], pure=False, priority=len(order) - rank)
        for rank, i in enumerate(order)
    ]
    got: list[PartitionResult] = client.gather(futures)
    results: list[PartitionResult] = [got[0]] * len(tasks)
    for i, result in zip(order, got, strict=True):
        results[i] = result
    return results
