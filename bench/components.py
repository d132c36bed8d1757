"""Each part of a partition's work, timed alone, with a digest of what it answered.

    python -m bench.components REGION --save FILE.json [--check REF.json]
        [--partitions N]

The whole run's wall time moves by several percent from one run to the next on a
shared machine; a change that saves 2% of one layer's time is lost in it. This bench
splits the region's households as ``geodx run`` does (``--engine local``, two
workers' partition sizes), then runs each partition's parts one after the other in
this process, on one thread, and measures each part's CPU time (``thread_time``)
and the pages it touched fresh (minor page faults of the thread: each is a page the
kernel zeroes, system time the CPU figure includes):

- ``transform``: the households' coordinates in the communes' and the metric CRS;
- ``communes``: each household's commune (``app.partition_region.assign``);
- one line per layer (``answer_layer``: the features that reach the partition, then
  the per-household tests);
- ``fold``: the answers folded into indicators and views; ``measured`` tiles;
- ``plan``: the plan rows (``app.planning``); ``row sums``: the (cell, commune) sums.

Every part's answer is hashed (SHA-256 over its arrays' bytes, partition after
partition), so ``--check REF.json`` tells, part by part, whether a change kept every
bit of every answer, and prints the CPU seconds beside the reference's. Save a
reference from the code before the change (``--save``), then check the change against
it. The split itself is not measured (``python -m bench.split`` is its bench).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa


def digest_of(value: Any, into: Any) -> None:
    """Feed ``value`` (arrays, tables, dataclasses, mappings, scalars) into a hash."""
    if isinstance(value, np.ndarray):
        _digest_array(value, into)
    elif isinstance(value, pa.Table):
        into.update(str(value.schema).encode())
        for column in value.columns:
            _digest_array(column.to_numpy(zero_copy_only=False), into)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            if f.name != "households":  # the input, not an answer
                into.update(f.name.encode())
                digest_of(getattr(value, f.name), into)
    elif isinstance(value, dict):
        for key in sorted(value, key=repr):
            into.update(repr(key).encode())
            digest_of(value[key], into)
    elif isinstance(value, list | tuple):
        for item in value:
            digest_of(item, into)
    else:  # None, numbers, strings: their repr (a float's repr is its exact value)
        into.update(repr(value).encode())


def _digest_array(value: np.ndarray, into: Any) -> None:
    into.update(str(value.dtype).encode() + str(value.shape).encode())
    if value.dtype == object:
        into.update(repr(value.tolist()).encode())
    else:
        into.update(np.ascontiguousarray(value).tobytes())


class Parts:
    """CPU seconds and a running digest per part."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.faults: dict[str, int] = {}
        self.hashes: dict[str, Any] = {}

    def run(self, name: str, work: Callable[..., Any], *args: Any) -> Any:
        """``work(*args)``, its CPU time, faults and answer added to part ``name``'s."""
        faults = _thread_faults()
        start = time.thread_time()
        got = work(*args)
        self.cpu[name] = self.cpu.get(name, 0.0) + time.thread_time() - start
        self.faults[name] = self.faults.get(name, 0) + _thread_faults() - faults
        digest_of(got, self.hashes.setdefault(name, hashlib.sha256()))
        return got

    def report(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "cpu_s": round(self.cpu[name], 3),
                "faults": self.faults[name],
                "digest": h.hexdigest(),
            }
            for name, h in self.hashes.items()
        }


def _thread_faults() -> int:
    """Minor page faults of this thread so far (Linux; elsewhere those of the process)."""
    who = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)
    return resource.getrusage(who).ru_minflt


def split(region: Path, folder: Path) -> tuple[Any, list[Any]]:
    """The region's partitions, split into ``folder``, with what was read for it."""
    from app.engine import _households
    from app.pipeline import metric_crs
    from app.spill import spill_households
    from geodx.crs import reproject
    from geodx.io import read_communes
    from geodx.limits import DEFAULT_LIMITS
    from geodx.manifest import load_manifest
    from geodx.partition import MAX_POINTS
    from geodx.points import WGS84

    manifest = load_manifest(region)
    limits = DEFAULT_LIMITS
    communes = read_communes(manifest.communes, limits=limits)
    geoms = np.asarray(communes.geometry.values, dtype=object)
    wgs84 = reproject(geoms, communes.crs, WGS84)
    utm = metric_crs(wgs84)
    source, _, bounds = _households(manifest, communes, wgs84, utm, limits)
    folder.mkdir(parents=True, exist_ok=True)
    spilled = spill_households(
        source, folder, h3_resolution=manifest.h3_resolution, region_bounds=bounds,
        limits=limits, max_points=MAX_POINTS // 2, resolution=None, min_partitions=1,
    )  # fmt: skip
    return (manifest, communes, utm, limits, spilled), spilled.partitions


def run_parts(read: tuple[Any, ...], partitions: Iterable[Any], parts: Parts) -> None:
    """Every part of every partition, in this thread, one after the other."""
    from app.partition_region import RegionFacts, answer_layer, assign, region_of
    from app.partition_task import _plan, measured_fibre
    from app.single_pass import add_measured, fold
    from app.spill import read_partition
    from geodx.partition import row_sums
    from layers.vector import warm_nearest

    manifest, communes, utm, limits, spilled = read
    facts = RegionFacts(
        str(manifest.path.resolve()), spilled.crs, spilled.lnglat_bounds,
        spilled.integral, limits, utm, threads=1,
    )  # fmt: skip
    region = region_of(facts, communes)
    warm_nearest(measured_fibre(region), metric_crs=region.utm)
    for i, p in enumerate(partitions):
        households, rows, cells = read_partition(p.path, facts.crs)
        print(f"  partition {i + 1}: {len(households):,} households", file=sys.stderr)
        parts.run("transform", _transform, households, region)
        assignment = parts.run("communes", assign, region, households)
        answers, sources = {}, {}
        for spec in manifest.layers:
            got = parts.run(
                f"layer {spec.slug}", answer_layer, region.layers[spec.slug], households
            )
            answers[spec.slug], sources[spec.slug] = got
        result = parts.run(
            "fold", fold, manifest.layers, households, assignment, cells, answers,
            sources,
        )  # fmt: skip
        if manifest.measured:
            parts.run(
                "measured", add_measured, manifest, result, facts.limits, region.tiles
            )
        parts.run("plan", _plan, region, result, rows, facts)
        parts.run("row sums", row_sums, result, len(region.communes))


def _transform(households: Any, region: Any) -> Any:
    """The households' coordinates in the communes' and the metric CRS (cached)."""
    return households.xy(region.communes.crs), households.xy(region.utm)


def compare(got: dict[str, Any], ref: dict[str, Any]) -> bool:
    """Print each part's CPU beside the reference's and whether its answers agree."""
    same = True
    print(
        f"{'part':<40} {'ref CPU s':>10} {'CPU s':>10} {'ratio':>7} "
        f"{'ref faults':>11} {'faults':>11}  answers"
    )
    for name in [*ref, *(n for n in got if n not in ref)]:
        a, b = ref.get(name), got.get(name)
        if a is None or b is None:
            print(f"{name:<40} only in {'this run' if a is None else 'the reference'}")
            same = False
            continue
        agree = a["digest"] == b["digest"]
        same &= agree
        ratio = b["cpu_s"] / a["cpu_s"] if a["cpu_s"] else float("nan")
        verdict = "same" if agree else "DIFFER"
        print(
            f"{name:<40} {a['cpu_s']:>10.2f} {b['cpu_s']:>10.2f} {ratio:>7.3f} "
            f"{a.get('faults', 0):>11,} {b.get('faults', 0):>11,}  {verdict}"
        )
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.components", description=__doc__.splitlines()[0]
    )
    parser.add_argument("region", type=Path)
    parser.add_argument("--save", type=Path, help="write the parts' figures here")
    parser.add_argument("--check", type=Path, help="a saved reference to compare with")
    parser.add_argument(
        "--partitions", type=int, default=0, help="only the first N (default: all)"
    )
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="geodx-components-"))
    try:
        start = time.perf_counter()
        read, partitions = split(args.region, folder)
        print(
            f"split: {len(partitions)} partitions, {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )
        if args.partitions:
            partitions = partitions[: args.partitions]
        parts = Parts()
        run_parts(read, partitions, parts)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    figures = parts.report()
    report: dict[str, Any] = {"partitions": len(partitions), "parts": figures}
    total = sum(p["cpu_s"] for p in figures.values())
    if args.save:
        args.save.write_text(json.dumps(report, indent=1), encoding="utf-8")
    if args.check:
        ref = json.loads(args.check.read_text(encoding="utf-8"))
        if ref.get("partitions") != report["partitions"]:
            print(f"the reference ran {ref.get('partitions')} partitions, this run "
                  f"{report['partitions']}")  # fmt: skip
            return 2
        same = compare(figures, ref["parts"])
        print(f"total CPU s: {sum(p['cpu_s'] for p in ref['parts'].values()):.2f} "
              f"-> {total:.2f}")  # fmt: skip
        return 0 if same else 1
    print(f"{'part':<40} {'CPU s':>10} {'faults':>11}  digest")
    for name, p in figures.items():
        print(f"{name:<40} {p['cpu_s']:>10.2f} {p['faults']:>11,}  {p['digest'][:16]}")
    faults = sum(p["faults"] for p in figures.values())
    print(f"{'total':<40} {total:>10.2f} {faults:>11,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
