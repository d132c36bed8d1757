"""`python -m bench.split REGION`: the split of a region's households, timed alone.

Each run is a child process that reads the region's manifest and communes (not timed)
and then times one stage (wall, CPU of the whole process, peak RSS):

- `split`: `app.spill.spill_households`, as `geodx run` splits the households into
  partition files (both passes, into a temporary folder beside the region);
- `h3`: the baseline, the work no split can leave out: the households read once in
  the same batches and each one's H3 cell computed by the library
  (`geodx.grid.points_to_cells`), in one thread, nothing kept;
- `cells`: the same, the cells computed as the split computes them
  (`app.split_h3.cells_of`: face addresses in numpy, the library once per address).

Printed: medians over `--repeat` runs (interleaved), the load average beside them, and
the CPU each thread of the last `split` child used (two threads near half each: the
split keeps both cores busy). On a shared machine CPU is the figure to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODES = ("h3", "cells", "split")


def child(mode: str, region: Path) -> dict[str, Any]:
    """Time ``mode`` on ``region`` in this process."""
    import numpy as np
    import shapely

    from app import spill
    from app.split_h3 import cells_of
    from geodx.crs import reproject
    from geodx.grid import points_to_cells
    from geodx.io import read_communes
    from geodx.limits import DEFAULT_LIMITS
    from geodx.manifest import load_manifest
    from geodx.manifest_specs import HouseholdsSpec
    from geodx.points import WGS84

    manifest = load_manifest(region)
    spec = manifest.households
    assert isinstance(spec, HouseholdsSpec), "a households file, not counts"
    communes = read_communes(manifest.communes, limits=DEFAULT_LIMITS)
    geoms = np.asarray(communes.geometry.values, dtype=object)
    box = shapely.total_bounds(reproject(geoms, communes.crs, WGS84)).tolist()
    start, before = time.perf_counter(), os.times()
    facts: dict[str, Any] = {}
    if mode in ("h3", "cells"):
        index = points_to_cells if mode == "h3" else cells_of
        for b in spill.batches_of(spec, DEFAULT_LIMITS):
            index(b.lat, b.lng, resolution=manifest.h3_resolution)
    else:
        with tempfile.TemporaryDirectory(dir=Path(manifest.root).parent) as folder:
            got = spill.spill_households(
                spec, Path(folder), h3_resolution=manifest.h3_resolution,
                region_bounds=(box[0], box[1], box[2], box[3]),
                limits=DEFAULT_LIMITS,
            )  # fmt: skip
            facts = {"points": got.points, "partitions": len(got.partitions)}
    after = os.times()
    cpu = (after.user - before.user) + (after.system - before.system)
    return {
        "wall_s": time.perf_counter() - start,
        "cpu_s": cpu,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads_s": _threads(),
        **facts,
    }


def _threads() -> list[float]:
    """CPU seconds of each thread of this process, largest first."""
    tick = os.sysconf("SC_CLK_TCK")
    got = []
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        got.append((int(fields[11]) + int(fields[12])) / tick)
    return sorted(got, reverse=True)


def run(mode: str, region: Path) -> dict[str, Any]:
    """One child process; its JSON line."""
    cmd = [sys.executable, "-m", "bench.split", "--child", mode, str(region)]
    repo = Path(__file__).resolve().parent.parent
    out = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=True)
    got: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return got


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.split")
    parser.add_argument("region", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", metavar="MODE", choices=MODES)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.region)))
        return
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    loads = [os.getloadavg()[0]]
    for _ in range(args.repeat):
        for mode in MODES:
            runs[mode].append(run(mode, args.region))
            loads.append(os.getloadavg()[0])
    print(f"{args.region}: load average {min(loads):.1f}-{max(loads):.1f}")
    print(f"{'stage':>6} {'wall s':>7} {'CPU s':>7} {'peak MiB':>9}")
    for mode in MODES:
        m = runs[mode]
        wall, cpu, peak = (
            statistics.median(r[k] for r in m) for k in ("wall_s", "cpu_s", "peak_mib")
        )
        print(f"{mode:>6} {wall:>7.2f} {cpu:>7.2f} {peak:>9.0f}")
    last = runs["split"][-1]
    threads = last["threads_s"][:4]
    print(f"split: {last['points']:,} points, {last['partitions']} partitions")
    print("split's busiest threads, CPU s:", ", ".join(f"{t:.2f}" for t in threads))


if __name__ == "__main__":
    main()
