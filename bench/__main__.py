"""`make bench`: geodx against a naive and a conventional geopandas pipeline.

    python -m bench [--households N] [--repeat 5] [--naive-repeat 1]
                    [--naive-sample ROWS] [--only NAME] [--region PATH]
                    [--sectors 2000] [--no-estimates]

Every contender runs in its own child process, reading the inputs and writing the
outputs; the table quotes medians. Then the estimated inputs, each beside its naive
way: the prediction from sites (`bench.sites`, N households x `--sectors`) and the
spread of counts (`bench.spread`, the counts variant of the region). See
bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.util
import json
import os
import platform
import sys
from collections.abc import Callable
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import compare, readme, report, runner, sites, spread
from bench.manifest import read_region
from bench.region import RESULTS, ensure_region, household_total

NAMES = ("geodx", "conventional", "naive")
DEFAULT_NAIVE_SAMPLE = 100_000
Job = Callable[[], runner.Run]


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n")[0]
    )
    p.add_argument("--households", type=int, default=1_000_000)
    p.add_argument(
        "--repeat", type=int, default=5, help="runs of geodx and conventional"
    )
    p.add_argument("--naive-repeat", type=int, default=1)
    p.add_argument(
        "--naive-sample",
        type=int,
        default=DEFAULT_NAIVE_SAMPLE,
        help="household rows the naive run works on, extrapolated and labelled so "
        f"(default {DEFAULT_NAIVE_SAMPLE:,}; 0 = all of them, slow: ~10 min at 1M)",
    )
    p.add_argument("--only", choices=NAMES, action="append", help="repeatable")
    p.add_argument("--region", type=Path, help="bench this region instead of the demo")
    p.add_argument(
        "--sectors", type=int, default=2_000, help="sectors of the prediction bench"
    )
    p.add_argument(
        "--no-estimates",
        action="store_true",
        help="leave out the prediction and spread benches",
    )
    return p.parse_args(argv)


def _estimates(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    """Time the prediction from sites and the spread of counts, beside the naive way."""
    if args.no_estimates:
        return {}, []
    _say(f"prediction: {args.households:,} households x {args.sectors:,} sectors")
    site = sites.measure(args.households, args.sectors, repeat=args.repeat)
    _say(f"spread: counts variant of the region, {args.households:,} households")
    spread_f = spread.measure(args.households, args.repeat, spread.DEFAULT_SAMPLE)
    text = [*sites.markdown(site), "", *spread.lines(spread_f)]
    figures = {
        "sites": dataclasses.asdict(site),
        "spread": dataclasses.asdict(spread_f)
        | {"naive_full_s": spread_f.naive_full_s},
    }
    return figures, text


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _attempt(c: report.Contender, label: str, job: Job) -> runner.Run | None:
    if c.error:
        return None
    try:
        run = job()
    except runner.ChildFailed as exc:
        c.error = str(exc)
        _say(f"  {c.name} FAILED: {exc}")
        return None
    _say(f"  {label}: {run.wall_s:.2f} s, peak {run.peak_rss_mib:,.0f} MiB")
    return run


def _job(name: str, region: Path, out: Path, sample: int | None = None) -> Job:
    """The child process of one contender, writing into `out/<name>`."""
    if name == "geodx":
        return partial(runner.geodx_cli, region, out / "geodx")
    return partial(runner.baseline, name, region, out / name, sample)


def _run_all(
    args: argparse.Namespace, region: Path, out: Path
) -> dict[str, report.Contender]:
    """geodx and conventional interleaved `--repeat` times, then naive."""
    chosen = args.only or list(NAMES)
    found = {name: report.Contender(name) for name in chosen}
    if "geodx" in found and importlib.util.find_spec("app.pipeline") is None:
        found["geodx"].error = "app.pipeline is not importable yet: geodx skipped"
    plan = [(n, args.repeat) for n in ("geodx", "conventional") if n in found]
    for i in range(args.repeat):
        for name, times in plan:
            label = f"{name} {i + 1}/{times}"
            if run := _attempt(found[name], label, _job(name, region, out)):
                found[name].runs.append(run)
    if "geodx" in found:
        _geodx_stages(found["geodx"], args.repeat, region, out)
    if "naive" in found:
        job = _job("naive", region, out, args.naive_sample or None)
        for i in range(args.naive_repeat):
            if run := _attempt(
                found["naive"], f"naive {i + 1}/{args.naive_repeat}", job
            ):
                found["naive"].runs.append(run)
    return found


def _geodx_stages(c: report.Contender, repeat: int, region: Path, out: Path) -> None:
    """In-process runs of `run_region` for its stage timings, if it reports any."""
    for i in range(repeat):
        job = partial(runner.geodx_stages, region, out / "geodx-stages")
        run = _attempt(c, f"geodx run_region (stages) {i + 1}/{repeat}", job)
        if run is None or not run.stages:
            if run is not None:
                _say("  run_region reports no .timings: no geodx stage breakdown")
            return
        c.stage_runs.append(run)


def _agreements(
    found: dict[str, report.Contender], region: Path, out: Path
) -> list[compare.Agreement]:
    ok = {n for n, c in found.items() if c.runs and not c.error}
    pairs = [
        (a, b)
        for a, b in (
            ("geodx", "conventional"),
            ("geodx", "naive"),
            ("conventional", "naive"),
        )
        if {a, b} <= ok
    ]
    naive = found.get("naive")
    sampled = naive is not None and naive.extrapolated_from is not None
    results = []
    for a, b in pairs:
        if b == "naive" and sampled:
            continue
        results.append(compare.compare(out / a, out / b, (a, b)))
    if sampled and "naive" in ok:
        rows = naive.extrapolated_from
        _say(f"  conventional on the naive run's {rows:,}-row sample, for agreement")
        run = _attempt(
            report.Contender("conventional"),
            "conventional (sample)",
            partial(
                runner.baseline,
                "conventional",
                region,
                out / "conventional-sample",
                rows,
            ),
        )
        if run:
            pair = ("conventional (same sample)", f"naive (sample of {rows:,} rows)")
            results.append(
                compare.compare(out / "conventional-sample", out / "naive", pair)
            )
    return results


def _machine() -> dict[str, object]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    libs = [
        "geopandas",
        "shapely",
        "pandas",
        "numpy",
        "pyogrio",
        "pyproj",
        "rasterio",
        "h3",
        "polars",
        "polars-h3",
        "geodx",
    ]
    versions = {}
    for lib in libs:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    manifest = args.region if args.region else ensure_region(args.households)
    region = read_region(manifest)
    households, rows = household_total(region)
    out = RESULTS / "out"
    out.mkdir(parents=True, exist_ok=True)
    title = f"{region.name}, {households:,} households ({rows:,} points)"
    _say(f"region {region.manifest}: {title}")
    load_before = os.getloadavg()
    found = _run_all(args, region.manifest, out)
    load_after = os.getloadavg()
    agreements = _agreements(found, region.manifest, out)
    estimates, estimate_text = _estimates(args)
    targets = report.targets(found, households)
    print(f"\ngeodx bench — {title}, {dt.date.today()}")
    print(report.table(list(found.values()), households))
    busy = load_before[0] > (os.cpu_count() or 1) / 2  # others' load, not ours
    print(
        f"load average (1 min) before / after the runs: {load_before[0]:.2f} / "
        f"{load_after[0]:.2f} on {os.cpu_count()} cores"
        + (" — busy machine: wall times are inflated, compare CPU s" if busy else "")
    )
    for a in agreements:
        print(f"agree ({a.reference} vs {a.other}): {'yes' if a.agree else 'no'}")
        for line in a.problems:
            print(f"    {line}")
    for c in found.values():
        if c.error:
            print(f"{c.name}: {c.error}")
    print(report.targets_text(targets))
    if estimate_text:
        print("\n" + "\n".join(estimate_text))
    latest = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": _machine(),
        "load_average_before_after": [load_before, load_after],
        "region": {
            "manifest": str(region.manifest),
            "name": region.name,
            "households": households,
            "points": rows,
        },
        "contenders": {n: _contender_json(c, households) for n, c in found.items()},
        "agreement": [dataclasses.asdict(a) | {"agree": a.agree} for a in agreements],
        "targets": targets,
        "estimates": estimates,
    }
    path = RESULTS / "latest.json"
    path.write_text(json.dumps(latest, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"written {path}")
    _write_readme(latest, found, households, agreements, argv, estimate_text)
    return 0 if all(a.agree for a in agreements) else 1


def _write_readme(
    latest: dict[str, Any],
    found: dict[str, report.Contender],
    households: int,
    agreements: list[compare.Agreement],
    argv: list[str] | None,
    estimate_text: list[str],
) -> None:
    """The figures block of bench/README.md: the figures the README shows are these."""
    args = sys.argv[1:] if argv is None else argv
    load = latest["load_average_before_after"]
    region = latest["region"]
    figures = readme.block(
        title=f"{region['name']}, {households:,} households ({region['points']:,} points)",
        date=str(latest["date"]).split("T")[0],
        machine=latest["machine"],
        load=(load[0][0], load[1][0]),
        command=" ".join(["make bench", *args]) if args else "make bench",
        table=report.markdown_table(list(found.values()), households),
        targets=latest["targets"],
        agreements=[
            f"{a.reference} vs {a.other}: {'yes' if a.agree else 'no'}"
            for a in agreements
        ],
        estimates=estimate_text,
    )
    readme.write(figures)
    print(f"written the figures block of {readme.README}")


def _contender_json(c: report.Contender, households: int) -> dict[str, object]:
    wall = c.wall_s
    return {
        "wall_s_median": wall,
        "households_per_s": households / wall if wall else None,
        "stages_s_median": c.stages,
        "peak_rss_mib_max": c.peak_rss_mib,
        "extrapolated_from_rows": c.extrapolated_from,
        "runs": [dataclasses.asdict(r) for r in c.runs],
        "stage_runs": [dataclasses.asdict(r) for r in c.stage_runs],
        "error": c.error,
    }


if __name__ == "__main__":
    sys.exit(main())
