"""The local engine's partitions, two at a time: worker processes forked once.

``geodx run`` (``--engine local``) runs its partitions in :data:`WORKERS_ENV` worker
processes (by default one per core, at most two: :func:`partition_workers`), forked
from the run's process once it has split the households and read the region
(``app.partition_region.region_of``): each child inherits the communes and the layers
copy-on-write and reads only its partition files (a task carries the partition's path,
as a Dask task does). What a forked child must not share is handled where it lives:

- the layer threads of the parent (``app.partition_task``'s pools) are not in the
  child: it forgets them at fork and makes its own (``app.partition_task._fresh_pools``);
- an open raster dataset shares its file offset with the parent's: the child opens
  the file again before reading a pixel (``layers.signal.SignalRaster``);
- the map layers are drawn in a thread of the parent started *after* the fork
  (``app.drawing``), so no thread of the parent is inside GDAL, GEOS or pyarrow when
  the children are made; the children's objects are frozen out of their garbage
  collections (``gc.freeze``: a collection would write to every inherited object's
  header, copying their pages).

The tasks are handed out largest partition first (one queue: a child takes the next
when it is free), the results put back in the order of the tasks. A failing partition
makes the run fail with that partition's own error, the one the first failing
partition in the tasks' order raises, as one partition after the other would: later
partitions not started are cancelled. Ctrl+C (children ignore SIGINT; the parent
stops them) and any other error end the children; a child whose parent dies gets
SIGTERM (Linux ``PR_SET_PDEATHSIG``), so none is left behind.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from geodx.errors import GeodxError

T = TypeVar("T")
R = TypeVar("R")

#: How many partitions the local engine runs at once (1: one after the other, in
#: the run's own process, as before).
WORKERS_ENV = "GEODX_PARTITION_WORKERS"
#: The default: one per core, at most this many (two partitions' memory at once).
MAX_DEFAULT_WORKERS = 2
_PR_SET_PDEATHSIG = 1


def partition_workers(environ: Mapping[str, str]) -> int:
    """The worker processes the local engine runs partitions in (``environ``).

    >>> partition_workers({"GEODX_PARTITION_WORKERS": "1"})
    1
    >>> partition_workers({"GEODX_PARTITION_WORKERS": "two"})
    Traceback (most recent call last):
    ...
    geodx.errors.GeodxError: GEODX_PARTITION_WORKERS='two': expected a whole number of at least 1
    """
    raw = environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return max(1, min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1))
    try:
        workers = int(raw)
    except ValueError:
        workers = 0
    if workers < 1:
        raise GeodxError(
            f"{WORKERS_ENV}={raw!r}: expected a whole number of at least 1"
        ) from None
    return workers


def largest_first(sizes: list[int]) -> list[int]:
    """Positions by size, the largest first (ties: in their order).

    >>> largest_first([1, 3, 3, 2])
    [1, 2, 3, 0]
    """
    return sorted(range(len(sizes)), key=lambda i: -sizes[i])


def file_size(path: str) -> int:
    """A partition file's size in bytes; 0 when not visible here (a cluster's storage)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _child_start(parent: int) -> None:
    """In each forked worker, before its first task (see the module's notes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C: the parent stops us
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's pipe closing ends us
        pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    gc.freeze()


def run_forked(
    fn: Callable[[T], R],
    tasks: list[T],
    sizes: list[int],
    *,
    workers: int,
    started: Callable[[], None] = lambda: None,
) -> list[R]:
    """``fn`` of each task in ``workers`` forked processes; results in ``tasks`` order.

    ``sizes``: each task's size (the largest run first). ``started()`` is called in
    this process once the workers are forked (the map layers' thread).

    Raises
    ------
    Exception
        What ``fn`` raised for the first failing task in ``tasks`` order.
    GeodxError
        A worker died (killed, out of memory).
    """
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_child_start, initargs=(os.getpid(),)
    )
    procs: list[Any] = []
    try:
        futures = {pool.submit(fn, tasks[i]): i for i in largest_first(sizes)}
        procs = list(getattr(pool, "_processes", {}).values())  # forked at first submit
        started()
        results = _gather(futures, len(tasks), procs)
    except BaseException:
        for proc in procs:
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


def _gather(futures: dict[Future[R], int], n: int, procs: list[Any]) -> list[R]:
    """The futures' results by task position; the first failure in that order raised.

    On a failure, the tasks after it not yet started are cancelled; the ones before
    it still run (one of them may fail first in the tasks' order).
    """
    results: dict[int, R] = {}
    failed: dict[int, BaseException] = {}
    for future in as_completed(futures):
        i = futures[future]
        if future.cancelled():
            continue
        try:
            results[i] = future.result()
        except BrokenProcessPool:
            raise GeodxError(_died(procs)) from None
        except Exception as exc:  # noqa: BLE001 - the task's own error, raised below
            failed[i] = exc
            for other, j in futures.items():
                if j > min(failed):
                    other.cancel()
    if failed:
        raise failed[min(failed)]
    return [results[i] for i in range(n)]


def _died(procs: list[Any]) -> str:
    """The one-line message for a worker that died (its exit code or signal)."""
    for proc in procs:
        proc.join(1)
    codes = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
    codes.sort(key=lambda code: code == -signal.SIGTERM)  # the others were ended
    how = "stopped"
    if codes and -codes[0] in signal.valid_signals():
        how = f"was killed by {signal.Signals(-codes[0]).name}"
    elif codes:
        how = f"exited with code {codes[0]}"
    return (
        f"a partition worker process {how} (out of memory?); "
        f"{WORKERS_ENV}=1 runs one partition at a time"
    )
