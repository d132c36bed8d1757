"""Run each contender in a child process: wall time, peak RSS, stage timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    """One child process: what it took and what it said about its stages."""

    wall_s: float
    peak_rss_mib: float
    cpu_s: float = (
        0.0  # user + system CPU seconds of the child (and its waited children)
    )
    stages: dict[str, float] = field(default_factory=dict)
    rows: int | None = None
    rows_total: int | None = None


class ChildFailed(RuntimeError):
    """A contender's process exited non-zero."""


def run_child(cmd: list[str], timings: Path | None = None) -> Run:
    """Run `cmd` from the repo root; wall time and this child's own peak RSS.

    ``os.wait4`` gives the resource usage of exactly that child (its ``ru_maxrss``,
    KiB on Linux, is the largest of that process and any process it waited for).
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-5:]
            raise ChildFailed(
                f"{' '.join(cmd)} exited {proc.returncode}: " + " | ".join(tail)
            )
    cpu = usage.ru_utime + usage.ru_stime
    run = Run(wall_s=wall, peak_rss_mib=usage.ru_maxrss / 1024, cpu_s=cpu)
    if timings is not None and timings.exists():
        info = json.loads(timings.read_text(encoding="utf-8"))
        run.stages = info.get("stages") or {}
        run.rows, run.rows_total = info.get("rows"), info.get("rows_total")
    return run


def geodx_cli(region: Path, out: Path) -> Run:
    """`geodx run REGION --out DIR`, end to end, as the user runs it."""
    exe = Path(sys.executable).with_name("geodx")
    return run_child([str(exe), "run", str(region), "--out", str(out)])


def geodx_stages(region: Path, out: Path) -> Run:
    """`app.pipeline.run_region` in a child, for its `.timings` (when it has them)."""
    timings = out.with_suffix(".timings.json")
    timings.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "bench.geodx_stages",
        str(region),
        str(out),
        str(timings),
    ]
    return run_child(cmd, timings)


def baseline(contender: str, region: Path, out: Path, sample: int | None = None) -> Run:
    """`python -m bench.baselines CONTENDER REGION OUT` (on a sample when asked)."""
    timings = out.with_suffix(".timings.json")
    timings.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.baselines", contender, str(region), str(out)]
    cmd += ["--timings", str(timings)]
    if sample:
        cmd += ["--sample", str(sample)]
    return run_child(cmd, timings)
