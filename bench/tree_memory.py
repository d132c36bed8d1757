"""`python -m bench.tree_memory CMD...`: a command's CPU and its process tree's memory.

Runs ``CMD`` and samples, every 0.2 s, the proportional set size (PSS) summed over
the command and every process under it (psutil ``memory_full_info``): a page shared
copy-on-write by forked workers counts once in the sum, split between them, where
the summed RSS (``bench.measure``) counts it once a process. Prints the wall and CPU
seconds (user + sys of the command and the processes it waited for), its own peak
RSS (``ru_maxrss``, the largest of the processes), the peaks of the PSS sum, of the RSS
sum and of the command's RSS plus its workers' USS (memory only they hold: what the
tree holds, with libraries shared with other programs counted whole, as a lone
process's RSS counts them), and the load average before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any

import psutil


def tree_bytes(proc: psutil.Process) -> tuple[int, int, int]:
    """PSS summed, RSS summed, and ``proc``'s RSS plus its descendants' USS (bytes).

    The last counts the pages forked workers share with ``proc`` once (in its RSS),
    and libraries shared with unrelated processes whole, as a lone process's RSS does.
    """
    pss = rss = own = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        pss += info.pss
        rss += info.rss
        own += info.rss if p.pid == proc.pid else info.uss
    return pss, rss, own


def wait_sampled(
    child: subprocess.Popen[bytes], every_s: float = 0.1
) -> tuple[int, float, Any, list[int]]:
    """Wait for ``child``, sampling :func:`tree_bytes` of its tree every ``every_s``.

    Returns its wait status, the wall seconds since this call, its resource usage
    (``os.wait4``: it and the processes it waited for) and the three peaks.
    """
    peak = [0, 0, 0]
    done = threading.Event()
    start = time.perf_counter()

    def sample() -> None:
        try:
            proc = psutil.Process(child.pid)
            while not done.is_set():
                peak[:] = [
                    max(a, b) for a, b in zip(peak, tree_bytes(proc), strict=True)
                ]
                done.wait(every_s)
        except psutil.Error:
            return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    return status, wall, usage, peak


def main(argv: list[str] | None = None) -> None:
    cmd = sys.argv[1:] if argv is None else argv
    if not cmd:
        raise SystemExit("usage: python -m bench.tree_memory CMD [ARGS...]")
    load = os.getloadavg()
    status, wall, usage, peak = wait_sampled(subprocess.Popen(cmd), every_s=0.2)
    mib = 2**20
    print(
        f"exit {os.waitstatus_to_exitcode(status)}  wall {wall:.1f} s  "
        f"CPU {usage.ru_utime + usage.ru_stime:.1f} s "
        f"({usage.ru_utime:.1f} + {usage.ru_stime:.1f})  "
        f"peak RSS (largest process) {usage.ru_maxrss / 1024:,.0f} MiB  "
        f"tree peak PSS {peak[0] / mib:,.0f} MiB, RSS sum {peak[1] / mib:,.0f} MiB, "
        f"RSS + workers' USS {peak[2] / mib:,.0f} MiB  "
        f"load {load[0]:.1f} -> {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
