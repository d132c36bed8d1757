"""`python -m bench.partitions`: the partitioned engines beside the single pass.

Each run is `geodx run REGION --out DIR --engine E --quiet` in a child process, on the
bench's generated regions (`bench.region.ensure_region`: 1M and 10M households by
default). Printed per region and engine, medians over `--repeat` runs: wall seconds,
CPU seconds (the child and the processes it waited for), the child's own peak RSS
(`ru_maxrss`), and the peak memory of the child's whole process tree (sampled every
0.1 s with psutil: the child's RSS plus its workers' USS, so the pages forked workers
share with the run count once; the workers of the local engine and of Dask count there). Then the issue's two ratios:
peak memory of the 10M local run over the 1M local run, and Dask wall over local wall.
The 1-minute load average is printed beside each line: on a shared machine the wall
ratio is noise under load, CPU time is not.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench.measure import Measured, measure, median
from bench.region import RESULTS, ensure_region

ENGINES = ("single", "local", "dask")


def run_engine(region: Path, engine: str, out: Path) -> Measured:
    """One `geodx run` with ``engine``."""
    exe = Path(sys.executable).with_name("geodx")
    cmd = [str(exe), "run", str(region), "--out", str(out), "--engine", engine]
    return measure([*cmd, "--quiet"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.partitions")
    parser.add_argument(
        "--households", type=int, nargs="+", default=[1_000_000, 10_000_000]
    )
    parser.add_argument("--engines", nargs="+", default=list(ENGINES))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    table: dict[tuple[int, str], Measured] = {}
    print(
        f"{'households':>11} {'engine':>7} {'wall s':>7} {'CPU s':>7} "
        f"{'peak MiB':>9} {'tree MiB':>9}"
    )
    for n in args.households:
        region = ensure_region(n)
        for engine in args.engines:
            out = RESULTS / "out" / f"partitions-{n}-{engine}"
            runs = [run_engine(region, engine, out) for _ in range(args.repeat)]
            got = table[(n, engine)] = median(runs)
            print(
                f"{n:>11,} {engine:>7} {got.wall_s:>7.2f} {got.cpu_s:>7.2f} "
                f"{got.peak_mib:>9.0f} {got.tree_mib:>9.0f}  "
                f"(load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    _ratios(table, args.households)


def _ratios(table: dict[tuple[int, str], Measured], sizes: list[int]) -> None:
    small, large = min(sizes), max(sizes)
    for engine in ENGINES:
        if (small, engine) in table and (large, engine) in table and small != large:
            a, b = table[(small, engine)], table[(large, engine)]
            print(
                f"{engine}: peak RSS {large:,} / {small:,} = "
                f"{b.peak_mib / a.peak_mib:.2f}x (tree {b.tree_mib / a.tree_mib:.2f}x;"
                " target <= 1.5x)"
            )
    for n in sizes:
        if (n, "dask") in table and (n, "local") in table:
            d, loc = table[(n, "dask")], table[(n, "local")]
            print(
                f"{n:,}: dask wall / local wall = {d.wall_s / loc.wall_s:.2f}x "
                "(target <= 1.3x)"
            )


if __name__ == "__main__":
    main()
