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
from dataclasses import dataclass

from bench.runner import REPO
from bench.tree_memory import wait_sampled


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
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        status, wall, usage, peak = wait_sampled(child)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(
                f"{' '.join(cmd)} {_how(code, wall)}: {' | '.join(tail)}"
            )
    own = usage.ru_maxrss / 1024
    return Measured(
        wall, usage.ru_utime + usage.ru_stime, own, max(own, peak[2] / 2**20)
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
