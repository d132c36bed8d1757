"""``geodx run --engine dask``: the partitions as ``dask.distributed`` tasks.

Each task is a :class:`app.engine.PartitionTask` (the manifest's path, a partition
file's path, its parent cell and the region's facts): a worker reads the manifest,
communes and layers itself (once per worker process) and its partition's households,
and returns the partition's sums and plan rows. Every path must be visible to every
worker: on other machines, the region and the output folder's parent (where the
partition files go) sit on shared storage mounted at the same path.

Without ``scheduler``, a ``LocalCluster`` with one single-threaded worker process per
core runs the tasks on this machine (it listens on 127.0.0.1 only, its dashboard on a
free port).
"""

from __future__ import annotations

import os
from typing import Any

from app.engine import PartitionResult, PartitionTask, run_partition
from geodx.errors import GeodxError


def run_on_dask(
    tasks: list[PartitionTask],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
) -> list[PartitionResult]:
    """Run the tasks on a Dask cluster; results in the order of ``tasks``.

    Parameters
    ----------
    tasks : list of PartitionTask
        In the order of their parent cells.
    scheduler : str, optional
        A ``dask.distributed`` scheduler's address (``tcp://host:8786``); a
        ``LocalCluster`` when not given.
    workers : int, optional
        The LocalCluster's worker processes (one per core by default).
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise GeodxError(
            "--engine dask needs dask.distributed: pip install 'geodx[dask]'"
        ) from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=30)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise GeodxError(
                f"cannot reach the Dask scheduler at {scheduler}: {first}"
            ) from None
        with client:
            return _gather(client, tasks)
    n = workers or os.cpu_count() or 1
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        return _gather(client, tasks)


def _gather(client: Any, tasks: list[PartitionTask]) -> list[PartitionResult]:
    futures = client.map(run_partition, tasks, pure=False)
    results: list[PartitionResult] = client.gather(futures)
    return results
