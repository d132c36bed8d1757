"""`make bench-country` (`python -m bench.country`): the national region, end to end.

1. builds the national demo region (`geodx demo --country --force`, real 2025 communes
   and the 2019 census from `../shared/data`, synthetic networks) into
   `bench/results/country/`: wall, CPU, peak RSS;
2. runs `geodx run` on it with the default engine, and with `--engine dask` (a
   `LocalCluster`, one single-threaded worker per core: 2 here) when this geodx has it:
   wall, CPU, the child's own peak RSS and the peak RSS summed over its process tree
   (sampled every 0.1 s; the Dask workers count there);
3. the memory ratio: peak RSS of `geodx run` on the bench's generated 10M-household
   region over its 1M region (`bench.region.ensure_region`, the default engine).

Every run is a child process from interpreter start to exit; `--repeat` runs each,
medians printed (peak RSS: the largest). The figures go to `bench/results/country.json`
(git-ignored, as everything in `bench/results/`). Without `../shared/data` it says so
and exits 0.
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from bench.measure import Measured, measure, median
from bench.region import RESULTS, ensure_region
from bench.runner import REPO

DATA = REPO.parent / "shared" / "data"
BOUNDARIES = DATA / "vn_communes_2025.parquet"
CENSUS = DATA / "vn_census2019_commune_households.parquet"
CROSSWALK = DATA / "vn_commune_crosswalk_2024_2025.parquet"
COUNTRY_DIR = RESULTS / "country"
GEODX = Path(sys.executable).with_name("geodx")


def build_country(out: Path) -> Measured:
    """`geodx demo --country --force` into ``out``, timed."""
    return measure(
        [
            str(GEODX),
            "demo",
            "--country",
            "--boundaries",
            str(BOUNDARIES),
            "--households-table",
            str(CENSUS),
            "--crosswalk",
            str(CROSSWALK),
            "--out",
            str(out),
            "--force",
        ]
    )


def has_dask_engine() -> bool:
    """Whether this geodx's `run` offers `--engine dask`."""
    text = subprocess.run(
        [str(GEODX), "run", "--help"], capture_output=True, text=True, check=False
    ).stdout
    return "--engine" in text and "dask" in text


def run_region(region: Path, out: Path, engine: str | None, repeat: int) -> Measured:
    """`geodx run REGION --out DIR --quiet [--engine E]`, ``repeat`` times."""
    cmd = [str(GEODX), "run", str(region), "--out", str(out), "--quiet"]
    if engine is not None:
        cmd += ["--engine", engine]
    return median([measure(cmd) for _ in range(repeat)])


def row(label: str, m: Measured) -> str:
    """One line of the table."""
    return (
        f"{label:<34} {m.wall_s:>8.1f} {m.cpu_s:>8.1f} "
        f"{m.peak_mib / 1024:>8.2f} {m.tree_mib / 1024:>8.2f}"
    )


def households_of(report: Path) -> dict[str, int]:
    """What the build carried: census, placed and not placed households."""
    data = json.loads(report.read_text(encoding="utf-8"))
    keys = (
        "census_households",
        "carried_households",
        "not_placed_households",
        "not_placed_rows",
        "outside_households",
    )
    return {k: int(data[k]) for k in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.country")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each geodx run")
    parser.add_argument("--no-build", action="store_true", help="reuse the region")
    parser.add_argument(
        "--region",
        type=Path,
        help="an already built national region (its folder): no build, runs on it",
    )
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--no-ratio", action="store_true", help="skip 1M and 10M")
    args = parser.parse_args(argv)
    missing = [p for p in (BOUNDARIES, CENSUS, CROSSWALK) if not p.is_file()]
    if missing and args.region is None:
        print(f"bench.country: skipped, {missing[0]} not found (../shared/data)")
        return 0
    figures: dict[str, object] = {}
    failed: list[str] = []
    print(f"{'':<34} {'wall s':>8} {'CPU s':>8} {'peak GB':>8} {'tree GB':>8}")
    folder = (args.region or COUNTRY_DIR).resolve()
    region = folder / "region.toml"
    if args.region is None and (not args.no_build or not region.is_file()):
        _step(figures, failed, "build", "geodx demo --country (build)",
              lambda: build_country(COUNTRY_DIR))  # fmt: skip
    if not region.is_file():
        print(f"bench.country: no region at {region}; nothing to run")
        return 1
    figures["households"] = households_of(folder / "carry_report.json")
    engines: list[str | None] = [None]
    if not args.no_dask and has_dask_engine():
        engines.append("dask")
    for engine in engines:
        out = RESULTS / "out" / f"country-{engine or 'default'}"
        label = f"geodx run Vietnam ({engine or 'default engine'})"
        run = functools.partial(run_region, region, out, engine, args.repeat)
        _step(figures, failed, f"run_{engine or 'default'}", label, run)
    if not args.no_ratio:
        try:
            figures["ratio"] = memory_ratio(args.repeat)
        except RuntimeError as exc:
            failed.append(f"1M/10M ratio: {exc}")
    _summary(figures, folder)
    for message in failed:
        print(f"FAILED {message}")
    (RESULTS / "country.json").write_text(
        json.dumps({**figures, "failed": failed}, indent=2) + "\n", encoding="utf-8"
    )
    return 1 if failed else 0


def _step(
    figures: dict[str, object],
    failed: list[str],
    key: str,
    label: str,
    measured: Callable[[], Measured],
) -> None:
    """Run one measured step; a failure is printed and kept, the bench goes on."""
    try:
        got = measured()
    except RuntimeError as exc:
        failed.append(f"{label}: {exc}")
        print(f"{label:<34} failed (see the end)", flush=True)
        return
    figures[key] = asdict(got)
    print(row(label, got), flush=True)


def memory_ratio(repeat: int) -> dict[str, object]:
    """Peak RSS of a 10M-household run over a 1M run (the bench's regions)."""
    runs: dict[str, Measured] = {}
    for n, key in ((1_000_000, "1m"), (10_000_000, "10m")):
        region = ensure_region(n)
        runs[key] = run_region(region, RESULTS / "out" / f"ratio-{key}", None, repeat)
        print(row(f"geodx run generated {n:,}", runs[key]), flush=True)
    ratio = runs["10m"].peak_mib / runs["1m"].peak_mib
    return {"1m": asdict(runs["1m"]), "10m": asdict(runs["10m"]), "peak_ratio": ratio}


def _summary(figures: dict[str, object], folder: Path) -> None:
    """The households carried, the ratios and the targets, in words."""
    hh = figures["households"]
    assert isinstance(hh, dict)
    print(
        f"households: {hh['carried_households']:,} of {hh['census_households']:,} "
        f"census households placed; {hh['not_placed_households']:,} in "
        f"{hh['not_placed_rows']:,} rows not placed "
        f"({folder / 'households_not_placed.csv'})"
    )
    ratio = figures.get("ratio")
    if isinstance(ratio, dict):
        print(f"peak RSS 10M / 1M = {ratio['peak_ratio']:.2f}x (target <= 1.5x)")
    local, dask = figures.get("run_default"), figures.get("run_dask")
    if isinstance(local, dict) and isinstance(dask, dict):
        print(
            f"Vietnam: dask wall / default wall = "
            f"{dask['wall_s'] / local['wall_s']:.2f}x (target <= 1.3x)"
        )
    print("targets: Vietnam run <= 30 s wall, <= 4 GB peak; build <= 4 GB")


if __name__ == "__main__":
    sys.exit(main())
