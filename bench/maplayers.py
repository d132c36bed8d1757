"""What drawing the map layers adds to ``geodx run`` on the demo province.

    python -m bench.maplayers [--region DIR] [--repeat 3]

Builds the synthetic demo (``geodx demo``'s default: 500,000 households, every layer
including the site list and the measured tiles) under ``bench/results/maplayers``
unless ``--region`` is given, then times, medians of ``--repeat`` runs in this
process: the whole ``run_region`` (wall and CPU seconds of the process), its
``draw map layers`` stage, and the same run with the drawing left out (the baseline).
Prints both and the share the drawing adds. On a busy machine the CPU figures are the
steadier ones.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any
from unittest import mock

from bench.region import RESULTS

FOLDER = RESULTS / "maplayers"


def _demo() -> Path:
    from data import build_synthetic_region

    manifest = FOLDER / "region" / "region.toml"
    if not manifest.exists():
        build_synthetic_region(manifest.parent, seed=2025)
    return manifest


def _time(region: Path, out: Path, *, draw: bool) -> tuple[float, float, float]:
    import app.pipeline as pipeline

    def skip(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        return {}

    patch = mock.patch.object(pipeline, "write_map_layers", skip)
    start, cpu = time.perf_counter(), time.process_time()
    if draw:
        result = pipeline.run_region(region, out)
    else:
        with patch:
            result = pipeline.run_region(region, out)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, cpu, result.timings.get("draw map layers", 0.0)


def main(argv: list[str] | None = None) -> None:
    """Time the demo run with and without its map layers; print the medians."""
    parser = argparse.ArgumentParser(prog="python -m bench.maplayers")
    parser.add_argument("--region", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    region = args.region or _demo()
    runs: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
    for _ in range(args.repeat):  # interleaved, so load changes hit both alike
        for draw in (False, True):
            runs[draw].append(_time(region, FOLDER / f"out-{draw}", draw=draw))

    def median(draw: bool, k: int) -> float:
        return statistics.median(run[k] for run in runs[draw])

    print(f"region {region}; medians of {args.repeat} runs (seconds)")
    print(f"{'':<34}{'wall':>8}{'CPU':>8}")
    for label, draw in (("without map layers", False), ("with map layers", True)):
        print(
            f"{'geodx run, ' + label:<34}{median(draw, 0):>8.2f}{median(draw, 1):>8.2f}"
        )
    print(f"{'  of which draw map layers':<34}{median(True, 2):>8.2f}")
    for k, name in ((0, "wall"), (1, "CPU")):
        share = 100 * (median(True, k) - median(False, k)) / median(False, k)
        print(f"drawing adds {share:.1f} % to the run's {name} time")


if __name__ == "__main__":
    main()
