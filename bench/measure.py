"""Measuring a child process: wall and CPU time, its own and its process tree's peak memory.

Shared by the benches that time whole ``geodx`` commands (``bench.partitions``,
``bench.country``).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

import psutil

from bench.runner import REPO
from bench.tree_memory import tree_bytes


@dataclass
class Measured:
    """One child process (or the median of several)."""

    wall_s: float
    cpu_s: float  # user + system of the child and the processes it waited for
    peak_mib: float  # the child's own peak RSS (ru_maxrss)
    # Peak of the child's RSS plus its descendants' USS (their own pages): a page a
    # forked worker shares copy-on-write with the child counts once, as in one process.
    tree_mib: float


def measure(cmd: list[str]) -> Measured:
    """Run ``cmd`` from the repository: wall, CPU, own and process-tree peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    peak = [0]
    done = threading.Event()
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err
        )

        def sample() -> None:
            try:
                proc = psutil.Process(child.pid)
                while not done.is_set():
                    peak[0] = max(peak[0], tree_bytes(proc)[2])
                    done.wait(0.1)
            except psutil.Error:
                return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(
                f"{' '.join(cmd)} {_how(code, wall)}: {' | '.join(tail)}"
            )
    own = usage.ru_maxrss / 1024
    return Measured(
        wall, usage.ru_utime + usage.ru_stime, own, max(own, peak[0] / 2**20)
    )


def _how(code: int, wall_s: float) -> str:
    """How a child ended: its exit code, or the signal that killed it (no stderr then).

    >>> _how(-9, 61.0)
    'killed by SIGKILL after 61 s (the kernel OOM killer, or a kill -9; it wrote no error)'
    """
    if code >= 0:
        return f"exited {code} after {wall_s:.0f} s"
    name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
    why = " (the kernel OOM killer, or a kill -9" if name == "SIGKILL" else " (a kill"
    return f"killed by {name} after {wall_s:.0f} s{why}; it wrote no error)"


def median(runs: list[Measured]) -> Measured:
    """Medians of wall and CPU; the largest peaks."""
    return Measured(
        statistics.median(r.wall_s for r in runs),
        statistics.median(r.cpu_s for r in runs),
        max(r.peak_mib for r in runs),
        max(r.tree_mib for r in runs),
    )


__all__ = ["Measured", "measure", "median"]
