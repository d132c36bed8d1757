"""`python -m bench.scale`: the simulated run behind docs/scale.md's 500M-point plan.

On a generated region (`bench.region.ensure_region`, 10M households by default):

1. `geodx run --engine local` in a child process that records every partition as it
   runs (`app.engine.run_partition` wrapped: seconds, household points, the process's
   peak RSS so far), and the run's stages;
2. the arithmetic: the Dask wall on W workers predicted as the local run's stages
   outside the partitions (split, merge, writing) plus the partitions' seconds laid
   out on W workers (longest first, each to the worker free first);
3. `geodx run --engine dask` on a 2-worker LocalCluster, timed, beside the prediction;
4. the 500M extrapolation: partitions of 1M points at the measured seconds per point,
   on W workers.

Medians are not taken (one run each; the figures are for the arithmetic). Writes
`bench/results/scale.json` (git-ignored).
"""

from __future__ import annotations

import argparse
import heapq
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench.country import GEODX
from bench.measure import measure
from bench.region import RESULTS, ensure_region

POINTS_500M = 500_000_000
PARTITION_POINTS = 1_000_000  # geodx.partition.MAX_POINTS


def child(region: Path, out: Path, target: Path) -> None:
    """In a child: a local run recording each partition (seconds, points, peak RSS)."""
    import app.engine as engine
    from app.pipeline import run_region

    seen: list[dict[str, float]] = []
    original = engine.run_partition

    def recorded(task: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        result = original(task, **kw)
        seen.append(
            {
                "seconds": time.perf_counter() - start,
                "points": float(result.rows.points),
                "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
        return result

    engine.run_partition = recorded  # type: ignore[assignment]
    start = time.perf_counter()
    result = run_region(region, out, engine="local")
    info = {
        "wall_s": time.perf_counter() - start,
        "stages": dict(result.timings),
        "partitions": seen,
    }
    target.write_text(json.dumps(info), encoding="utf-8")


def lay_out(seconds: list[float], workers: int) -> float:
    """Wall time of the tasks on ``workers``: longest first, to the first free one."""
    free = [0.0] * workers
    for s in sorted(seconds, reverse=True):
        heapq.heappush(free, heapq.heappop(free) + s)
    return max(free)


def predict(info: dict[str, Any], workers: int) -> float:
    """The run's wall on ``workers``: its other stages plus the partitions laid out."""
    seconds = [p["seconds"] for p in info["partitions"]]
    outside = info["wall_s"] - sum(seconds)
    return outside + lay_out(seconds, workers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--households", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[16, 64, 128])
    parser.add_argument("--child", nargs=3, metavar=("REGION", "OUT", "JSON"))
    args = parser.parse_args(argv)
    if args.child:
        child(*(Path(a) for a in args.child))
        return 0
    region = ensure_region(args.households)
    target = RESULTS / f"scale-{args.households}.partitions.json"
    out = RESULTS / "out" / f"scale-{args.households}"
    local = measure(
        [
            sys.executable,
            "-m",
            "bench.scale",
            "--child",
            str(region),
            str(out),
            str(target),
        ]
    )
    info = json.loads(target.read_text(encoding="utf-8"))
    parts = info["partitions"]
    points = sum(p["points"] for p in parts)
    busy = sum(p["seconds"] for p in parts)
    print(
        f"{args.households:,} households: {len(parts)} partitions, largest "
        f"{max(p['points'] for p in parts):,.0f} points, slowest "
        f"{max(p['seconds'] for p in parts):.2f} s; local wall {local.wall_s:.1f} s "
        f"(in the child {info['wall_s']:.1f} s, partitions {busy:.1f} s), "
        f"peak {local.peak_mib:.0f} MiB"
    )
    dask_cmd = [str(GEODX), "run", str(region), "--out", str(out) + "-dask"]
    dask = measure([*dask_cmd, "--engine", "dask", "--quiet"])
    guess = predict(info, 2)
    print(
        f"dask, 2-worker LocalCluster: measured {dask.wall_s:.1f} s wall "
        f"(tree peak {dask.tree_mib:.0f} MiB); predicted {guess:.1f} s "
        f"(other stages {info['wall_s'] - busy:.1f} s + partitions on 2 workers)"
    )
    per_point = busy / points
    n = POINTS_500M // PARTITION_POINTS
    rows = []
    for w in args.workers:
        wall = lay_out([per_point * PARTITION_POINTS] * n, w)
        rows.append({"workers": w, "partitions_wall_s": wall})
        print(
            f"500M points, {n} partitions of 1M: {w} workers -> partitions "
            f"{wall / 60:.1f} min ({per_point * 1e6:.1f} s a partition)"
        )
    figures = {
        "households": args.households,
        "local": local.__dict__,
        "dask": dask.__dict__,
        "dask_predicted_s": guess,
        "seconds_per_million_points": per_point * 1e6,
        "partitions": parts,
        "stages": info["stages"],
        "extrapolated": rows,
    }
    (RESULTS / "scale.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
