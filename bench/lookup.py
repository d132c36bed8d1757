"""Point lookups: the live region (read once, indexes kept) against a naive re-read.

    python -m bench.lookup [--region DIR] [--lookups 1000] [--naive 20] [--plan]

- **geodx**: :class:`app.live.LiveRegion` opened once (what each ``geodx serve`` worker
  holds), then ``--lookups`` lookups at random points of the region's bounds;
- **naive**: what a request costs without the live service: read the manifest, the
  communes and every layer again, then answer the one point (``--naive`` requests).

Both answer the same points; the naive sample's answers are checked to equal the live
ones before anything is printed. Medians and 95th percentiles, milliseconds.

``--plan`` also runs the region (``app.pipeline.run_region``) into a scratch folder and
prints the time of its "plan extensions" stage (plan.parquet: the households without
fibre measured against every fibre layer) beside the run's total.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.live import LiveRegion
from geodx.manifest import load_manifest

BENCH_REGION = Path("bench/results/region-1m")
DEMO_REGION = Path("build/demo")


def points(live: LiveRegion, n: int, *, seed: int = 5) -> list[tuple[float, float]]:
    """Random points in the region's WGS84 bounds (some outside every commune)."""
    rng = np.random.default_rng(seed)
    west, south, east, north = live.bounds
    lon = rng.uniform(west, east, n)
    lat = rng.uniform(south, north, n)
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def timed(call: Any, args: list[tuple[float, float]]) -> tuple[list[float], list[Any]]:
    """Milliseconds of each call, and its answers."""
    times, answers = [], []
    for lon, lat in args:
        start = time.perf_counter()
        answers.append(call(lon, lat))
        times.append((time.perf_counter() - start) * 1000)
    return times, answers


def naive_lookup(region: Path) -> Any:
    """A lookup that reads the whole region for each request."""

    def call(lon: float, lat: float) -> dict[str, Any]:
        return LiveRegion(load_manifest(region)).lookup(lon, lat)

    return call


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def plan_budget(region: Path) -> tuple[float, float]:
    """Seconds of the run's plan stage and of the whole run."""
    from app.pipeline import run_region

    with tempfile.TemporaryDirectory(prefix="geodx-bench-plan-") as scratch:
        start = time.perf_counter()
        result = run_region(region, Path(scratch) / "out")
        total = time.perf_counter() - start
    return result.timings["plan extensions"], total


def main() -> None:
    """Print the lookup figures (and the plan's budget with ``--plan``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = BENCH_REGION if (BENCH_REGION / "region.toml").is_file() else DEMO_REGION
    parser.add_argument("--region", type=Path, default=default)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--naive", type=int, default=20)
    parser.add_argument("--plan", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    live = LiveRegion.open(args.region)
    opened = time.perf_counter() - start
    where = points(live, args.lookups)
    warm, answers = timed(live.lookup, where)
    cold, naive = timed(naive_lookup(args.region), where[: args.naive])
    assert naive == answers[: args.naive], "naive and live lookups disagree"
    inside = sum(a["commune_code"] is not None for a in answers)
    print(f"region {args.region} ({len(live.layers)} layers); opened in {opened:.2f} s")
    print(f"{'':24}{'median ms':>10}{'p95 ms':>10}{'lookups':>9}")
    for name, got in (("geodx (live region)", warm), ("naive (re-read)", cold)):
        print(f"{name:24}{statistics.median(got):10.2f}{p95(got):10.2f}{len(got):9,}")
    print(
        f"live faster by {statistics.median(cold) / statistics.median(warm):.0f}x "
        f"(medians); {inside:,} of {len(answers):,} points inside a commune; the "
        f"naive sample's answers equal the live ones"
    )
    if args.plan:
        stage, total = plan_budget(args.region)
        print(
            f"plan.parquet in the run: {stage:.2f} s of {total:.2f} s "
            f"({100 * stage / total:.1f} %)"
        )


if __name__ == "__main__":
    main()
